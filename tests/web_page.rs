//! The playground page (`dist/web/`, made by `cargo xtask dist`) in headless
//! Chromium: `tests/web/page.test.js` drives it through playwright-core
//! (pinned by `tests/web/package-lock.json`) while `cargo xtask serve` — the
//! same server users run — serves the bundle twice: cross-origin isolated,
//! and with plain headers as any static host would. Screenshots land in
//! `$CARGO_TARGET_TMPDIR/mpwasm/web-screenshots/`.

mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use support::{repo_root, run_checked, test_output, xtask, xtask_command};

/// A `cargo xtask serve` process, stopped when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(dir: &Path, plain: bool) -> Served {
        let mut command = xtask_command(&["serve", "--port", "0", "--dir"]);
        command.arg(dir);
        if plain {
            command.arg("--plain");
        }
        let mut child = command.stdout(Stdio::piped()).spawn().expect("cargo runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Some(url) = line.split_whitespace().find(|word| word.starts_with("http://")) else {
            let _ = child.kill();
            panic!("`cargo xtask serve` did not print its address: {line:?}");
        };
        Served { url: url.to_string(), child }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/web/` copied out of the checkout with its pinned packages installed.
fn project() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-project");
    fs::create_dir_all(&dir).unwrap();
    for name in ["package.json", "package-lock.json", "page.test.js"] {
        fs::copy(repo_root().join("tests/web").join(name), dir.join(name)).unwrap();
    }
    fs::copy(repo_root().join("tests/support/chromium.mjs"), dir.join("chromium.mjs")).unwrap();
    run_checked(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir));
    dir
}

/// `dist/web`, built once per test binary.
fn site() -> &'static Path {
    static SITE: OnceLock<PathBuf> = OnceLock::new();
    SITE.get_or_init(|| {
        xtask(&["dist"]);
        support::dist_dir().join("web")
    })
}

#[test]
fn playground_page_in_headless_chromium() {
    support::require_chromium();
    let site = site();
    let project = project();
    let isolated = Served::start(site, false);
    let plain = Served::start(site, true);
    let shots = test_output().join("web-screenshots");
    let report = run_checked(
        Command::new("node")
            .args(["--test", "--test-reporter=spec", "page.test.js"])
            .env("MPWASM_WEB_URL", &isolated.url)
            .env("MPWASM_WEB_PLAIN_URL", &plain.url)
            .env("MPWASM_WEB_SHOTS", &shots)
            .current_dir(&project),
    );
    eprintln!("{report}");
    for shot in ["playground.png", "traceback.png", "input.png", "plain-headers.png"] {
        let bytes = fs::read(shots.join(shot)).unwrap_or_else(|err| panic!("screenshot {shot}: {err}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is not a PNG");
    }
}

#[test]
fn serve_explains_a_missing_bundle() {
    let empty = tempfile::tempdir().unwrap();
    let output = xtask_command(&["serve", "--port", "0", "--dir"]).arg(empty.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no index.html") && stderr.contains("cargo xtask dist"), "{stderr}");
}

#[test]
fn the_bundle_is_a_static_site_with_the_browser_module() {
    let site = site();
    let mut files: Vec<String> = Vec::new();
    collect(site, site, &mut files);
    files.sort();
    assert_eq!(
        files,
        [
            "LICENSE",
            "app.js",
            "editor.js",
            "examples.js",
            "index.html",
            "mpwasm/abi.js",
            "mpwasm/browser.js",
            "mpwasm/core.js",
            "mpwasm/fs.js",
            "mpwasm/micropython.wasm",
            "mpwasm/worker.js",
            "style.css"
        ]
    );
    // The npm package's module (legacy exception handling, for browsers).
    let npm = support::dist_dir().join("npm/mpwasm/micropython.wasm");
    assert_eq!(fs::read(site.join("mpwasm/micropython.wasm")).unwrap(), fs::read(npm).unwrap());
    // Nothing from the network: no absolute URL in the page's own files.
    for name in ["index.html", "app.js", "editor.js", "examples.js", "style.css"] {
        let text = fs::read_to_string(site.join(name)).unwrap();
        assert!(!text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"), "{name} links out");
    }
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            files.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}
