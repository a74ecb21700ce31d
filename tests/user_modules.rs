//! The user's own modules: Python frozen into the image and C modules
//! compiled into it, from a build configuration (`--config`), as
//! `examples/micropython-wasm.toml` shows.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{repo_root, run_node, xtask_command};

/// Runs `cargo xtask build --config CONFIG` with its own build folder.
fn build(config: &Path, build_dir: &Path) -> std::process::Output {
    xtask_command(&["build", "--config", config.to_str().unwrap()]).env("MPWASM_BUILD_DIR", build_dir).output().unwrap()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A build that must fail; returns what it printed.
fn failing_build(config: &Path) -> String {
    let build_dir = tempfile::tempdir().unwrap();
    let output = build(config, build_dir.path());
    let stderr = stderr_of(&output);
    assert!(!output.status.success(), "the build should fail:\n{stderr}");
    stderr
}

/// A project folder holding `micropython-wasm.toml` and the given files.
fn project(config: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let config_path = dir.path().join("micropython-wasm.toml");
    fs::write(&config_path, config).unwrap();
    let canonical = dir.path().canonicalize().unwrap();
    (dir, canonical)
}

#[test]
fn frozen_package_and_c_module_are_importable_from_dash_c() {
    let build_dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("examples/micropython-wasm.toml");
    let output = build(&config, build_dir.path());
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "build failed:\n{stderr}");
    let module = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("built "))
        .map(PathBuf::from)
        .find(|path| path.ends_with("micropython.wasm"))
        .unwrap_or_else(|| panic!("the build names its module:\n{stderr}"));
    let folder = module.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
    assert!(folder.starts_with("standard-size-user-"), "a configured build has a folder of its own: {folder}");

    let code = "import textstats, fastmath, greeting\n\
                from textstats.analysis import numbers\n\
                print(textstats.summary('the quick brownish fox'))\n\
                print(textstats.mean([1, 2, 3, 4]), numbers.median([5, 1, 3]), textstats.__version__)\n\
                print(fastmath.gcd(84, -36), fastmath.sum_squares([1, 2, 3]), fastmath.sum_squares(range(2**20, 2**20 + 2)))\n\
                print(greeting.hello('wasm'), textstats.__file__)";
    let run = run_node(&module, &[], &["-c", code], "");
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "{'words': 4, 'longest': 'brownish'}\n2.5 3 1.0\n12 14 2199025352705\nhello, wasm textstats/__init__.py\n",
        "{run:?}"
    );

    // Sizes: every user module attributed, beside the module and in inspect.
    let sizes: serde_json::Value =
        serde_json::from_slice(&fs::read(module.with_file_name("frozen-sizes.json")).unwrap()).unwrap();
    for target in ["textstats/__init__.py", "textstats/words.py", "textstats/analysis/numbers.py", "greeting.py"] {
        let entry = &sizes["modules"][target];
        assert_eq!(entry["origin"], "user", "{target}: {entry}");
        assert!(entry["data_bytes"].as_u64().unwrap() > 0 && entry["mpy_bytes"].as_u64().unwrap() > 0, "{entry}");
    }
    assert_eq!(sizes["modules"]["asyncio/core.py"]["origin"], "port");
    let inspect = xtask_command(&["inspect", module.to_str().unwrap()]).output().unwrap();
    let printed = String::from_utf8_lossy(&inspect.stdout);
    assert!(printed.contains("frozen user textstats/words.py: "), "{printed}");
    assert!(printed.contains("\"textstats/analysis/numbers.mpy\""), "provenance lists user modules:\n{printed}");

    // The import-time measurement the README describes runs both ways
    // (its figures are for reports, not for assertions).
    let app = repo_root().join("examples/frozen-app");
    for path in [".frozen", "/app"] {
        let run = run_node(&module, &[(&app, "/app")], &["/app/measure_import.py", "textstats", path, "3"], "");
        assert!(run.stdout.starts_with(&format!("import textstats from {path}: ")), "{run:?}");
    }

    // Nothing changed: nothing is recompiled and the bytes are the same.
    let before = fs::read(&module).unwrap();
    let again = build(&config, build_dir.path());
    let stderr = stderr_of(&again);
    assert!(stderr.contains("compiled 0 files"), "{stderr}");
    assert_eq!(fs::read(&module).unwrap(), before);
}

#[test]
fn a_syntax_error_is_reported_as_file_line_message() {
    let (_dir, root) = project(
        "[frozen]\npackages = [\"app\"]\n",
        &[("app/__init__.py", "from . import broken\n"), ("app/broken.py", "x = 1\n\ndef f(:\n    pass\n")],
    );
    let stderr = failing_build(&root.join("micropython-wasm.toml"));
    let expected = format!("{}:3: SyntaxError: invalid syntax", root.join("app/broken.py").display());
    assert!(stderr.contains(&expected), "expected `{expected}` in:\n{stderr}");
}

#[test]
fn a_module_named_like_a_builtin_is_rejected() {
    let (_dir, root) =
        project("[frozen]\nmodules = [\"json.py\"]\n", &[("json.py", "def dumps(x):\n    return 'mine'\n")]);
    let stderr = failing_build(&root.join("micropython-wasm.toml"));
    let expected =
        format!("frozen module `json` ({}) has the name of a built-in module", root.join("json.py").display());
    assert!(stderr.contains(&expected), "expected `{expected}` in:\n{stderr}");
}

#[test]
fn missing_paths_are_named() {
    let (_dir, root) = project("[c_modules]\npaths = [\"nowhere/fastmath\"]\n", &[]);
    let stderr = failing_build(&root.join("micropython-wasm.toml"));
    let expected = format!("micropython-wasm.toml:2:10: no such folder: {}", root.join("nowhere/fastmath").display());
    assert!(stderr.contains(&expected), "expected `{expected}` in:\n{stderr}");

    let (_dir, root) = project("[frozen]\nmanifest = \"manifest.py\"\n", &[("manifest.py", "package(\"app\")\n")]);
    let stderr = failing_build(&root.join("micropython-wasm.toml"));
    let expected = format!("no such folder: {}", root.join("app").display());
    assert!(stderr.contains(&expected), "expected `{expected}` in:\n{stderr}");

    let stderr = failing_build(&root.join("missing.toml"));
    assert!(
        stderr.contains(&format!("reading the build configuration {}", root.join("missing.toml").display())),
        "{stderr}"
    );
}

#[test]
fn an_unknown_key_names_its_line_and_the_valid_keys() {
    let (_dir, root) = project("[frozen]\npackages = []\noptimize = 2\n", &[]);
    let stderr = failing_build(&root.join("micropython-wasm.toml"));
    assert!(stderr.contains("micropython-wasm.toml:3:1: unknown field `optimize`"), "{stderr}");
    assert!(stderr.contains("`manifest`, `modules`, `packages`, `opt`"), "{stderr}");
}
