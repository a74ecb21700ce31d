//! The npm package made by `cargo xtask dist`, as its users get it: packed
//! with `npm pack`, installed from the tarball into a scratch project holding
//! `tests/npm/` (with typescript and playwright-core pinned by its lockfile),
//! then exercised there by Node's test runner, `tsc` and a page in headless
//! Chromium.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{repo_root, run_checked, xtask};

const PACKAGE: &str = "mpwasm";

/// `dist/npm/mpwasm`, built once per test binary by the project's main job.
fn npm_package() -> &'static Path {
    static PACKAGE_DIR: OnceLock<PathBuf> = OnceLock::new();
    PACKAGE_DIR.get_or_init(|| {
        xtask(&["dist"]);
        support::dist_dir().join("npm").join(PACKAGE)
    })
}

/// The scratch project with the packed package installed, set up once.
fn project() -> &'static Path {
    static PROJECT: OnceLock<PathBuf> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let package = npm_package();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-project");
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        copy_sources(&repo_root().join("tests/npm"), &dir);
        fs::copy(repo_root().join("tests/support/chromium.mjs"), dir.join("chromium.mjs")).unwrap();
        let packed =
            run_checked(Command::new("npm").args(["pack", "--json", "--pack-destination"]).arg(&dir).arg(package));
        let listing: serde_json::Value = serde_json::from_str(&packed).expect("npm pack --json prints JSON");
        let tarball = listing[0]["filename"].as_str().expect("npm pack names its tarball");
        run_checked(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--no-save"])
                .arg(format!("./{tarball}"))
                .current_dir(&dir),
        );
        dir
    })
}

/// Copies the test project's own files, leaving out anything a developer's
/// `npm install` or a previous run left in the source folder.
fn copy_sources(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "node_modules" || Path::new(&name).extension().is_some_and(|ext| ext == "png") {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_sources(&entry.path(), &to.join(&name));
        } else {
            fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Runs Node test files of the project under `node --test`.
fn node_tests(files: &[&str]) -> String {
    run_checked(Command::new("node").args(["--test", "--test-reporter=spec"]).args(files).current_dir(project()))
}

#[test]
fn api_in_node() {
    node_tests(&["api.test.js"]);
}

#[test]
fn worker_runner_in_node() {
    node_tests(&["worker.test.js"]);
}

#[test]
fn files_in_node() {
    node_tests(&["files.test.js"]);
}

#[test]
fn async_python_in_node() {
    node_tests(&["async.test.js"]);
}

#[test]
fn hostile_code_in_node() {
    node_tests(&["hostile.test.js"]);
}

#[test]
fn npx_runs_the_bin() {
    node_tests(&["cli.test.js"]);
}

#[test]
fn browser_glue_is_within_its_size_budget() {
    let report = node_tests(&["size.test.js"]);
    eprintln!("{report}");
}

#[test]
fn typescript_declarations_check_against_the_example() {
    for config in ["tsconfig.json", "tsconfig.bundler.json"] {
        run_checked(Command::new("npx").args(["tsc", "--noEmit", "-p", config]).current_dir(project()));
    }
}

#[test]
fn page_in_headless_chromium() {
    support::require_chromium();
    node_tests(&["browser.test.js"]);
}

#[test]
fn package_json_shape() {
    let text = fs::read_to_string(npm_package().join("package.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["name"], PACKAGE);
    assert_eq!(manifest["type"], "module");
    assert_eq!(manifest["sideEffects"], false);
    // Resolvers take the first matching condition: types first, default last.
    let exports = &text[text.find("\"exports\"").unwrap()..];
    let position = |key: &str| exports.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} condition"));
    assert!(position("types") < position("node") && position("node") < position("browser"), "{text}");
    assert!(position("browser") < position("default"), "{text}");
    for file in manifest["files"].as_array().unwrap() {
        assert!(npm_package().join(file.as_str().unwrap()).is_file(), "{file} is listed but missing");
    }
}

/// Node load+run timings (see tests/npm/bench.mjs); printed, not asserted.
#[test]
fn node_load_and_run_time() {
    let report = run_checked(Command::new("node").arg("bench.mjs").current_dir(project()));
    let timings: serde_json::Value = serde_json::from_str(&report).expect("bench.mjs prints JSON");
    eprintln!("{timings}");
}
