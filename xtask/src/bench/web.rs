//! The playground page (`dist/web/`) as a visitor gets it: every file the
//! page loads with its gzip size, the time from navigation to the output of
//! a first `print(1)`, and from Stop (on `while True: pass`) to a fresh
//! interpreter, in headless Chromium driven by `web-page.mjs`. The page is
//! served by `cargo xtask serve`'s server, cross-origin isolated.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::report::{Section, Table};
use super::stats;
use crate::project;
use crate::serve::Server;
use crate::sizes::Sizes;

const DRIVER: &str = include_str!("web-page.mjs");
/// How the project starts headless Chromium, shared with the browser tests.
const LAUNCH: &str = include_str!("../../../tests/support/chromium.mjs");
/// The page tests' npm project: playwright-core at a pinned version.
const PACKAGE_JSON: &str = include_str!("../../../tests/web/package.json");
const PACKAGE_LOCK: &str = include_str!("../../../tests/web/package-lock.json");
const CHROMIUM: &str = "/usr/bin/chromium";

/// Targets of the issue that made the page.
const FIRST_RUN_MS: f64 = 150.0;
const STOP_TO_IDLE_MS: f64 = 100.0;
const TRANSFER_GZIP: u64 = 250_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebPage {
    /// Every file the page loaded (each once), by path on the server.
    pub files: Vec<(String, Sizes)>,
    pub total: Sizes,
    pub chromium: String,
    pub loads: usize,
    /// Navigation start to the output of `print(1)`, Run clicked at
    /// DOMContentLoaded.
    pub first_run: Timing,
    /// Navigation start to an interpreter ready in the Worker.
    pub ready: Timing,
    pub dom_content_loaded: Timing,
    /// Stop pressed on a runaway loop to a fresh interpreter ready.
    pub stop_to_idle: Timing,
    /// Worst lateness of a 10 ms timer in the page while Python spins.
    pub main_thread_lag: Timing,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

impl Timing {
    fn of(values: &[f64]) -> Timing {
        let [median_ms, min_ms, max_ms] = stats::median_min_max(values);
        Timing { median_ms, min_ms, max_ms }
    }
}

/// What `web-page.mjs` prints.
#[derive(Deserialize)]
struct Driven {
    chromium: String,
    requests: Vec<String>,
    loads: Vec<Load>,
    stops: Vec<f64>,
    lag_ms: Vec<f64>,
}

#[derive(Deserialize)]
struct Load {
    dom_content_loaded_ms: f64,
    ready_ms: f64,
    first_run_ms: f64,
}

/// Measures the page in `site` over `loads` fresh page loads.
pub fn measure(site: &Path, loads: usize) -> Result<WebPage> {
    if !site.join("index.html").is_file() {
        bail!("{} is not built (cargo xtask dist)", site.display());
    }
    let chromium = std::env::var_os("MPWASM_CHROMIUM").map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
    if !chromium.exists() {
        bail!("no Chromium at {} (apt-get install -y chromium, or set MPWASM_CHROMIUM)", chromium.display());
    }
    let driver = driver_project()?;
    let addr = Server::bind(site, 0, true)?.spawn();
    let output = Command::new("node")
        .arg(driver.join("web-page.mjs"))
        .arg(format!("http://{addr}/"))
        .arg(loads.to_string())
        .arg(&chromium)
        .output()
        .context("running node (Node.js 20+ is needed)")?;
    if !output.status.success() {
        bail!("the page driver failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let driven: Driven = serde_json::from_slice(&output.stdout).context("reading the page driver's JSON")?;
    let mut files = Vec::new();
    for path in &driven.requests {
        let relative = path.trim_start_matches('/');
        let file = site.join(if relative.is_empty() { "index.html" } else { relative });
        let bytes =
            fs::read(&file).with_context(|| format!("the page loaded {path}, which is not {}", file.display()))?;
        files.push((path.clone(), Sizes::of(&bytes)));
    }
    let total = files.iter().map(|(_, sizes)| sizes).sum();
    let pick = |f: fn(&Load) -> f64| Timing::of(&driven.loads.iter().map(f).collect::<Vec<_>>());
    Ok(WebPage {
        files,
        total,
        chromium: driven.chromium,
        loads: driven.loads.len(),
        first_run: pick(|l| l.first_run_ms),
        ready: pick(|l| l.ready_ms),
        dom_content_loaded: pick(|l| l.dom_content_loaded_ms),
        stop_to_idle: Timing::of(&driven.stops),
        main_thread_lag: Timing::of(&driven.lag_ms),
    })
}

/// The driver and playwright-core, installed once per lockfile in the
/// cache: `npm ci` in a temporary folder renamed into place when complete.
fn driver_project() -> Result<PathBuf> {
    let key = hex::encode(&Sha256::digest(PACKAGE_LOCK.as_bytes())[..8]);
    let parent = project::cache_root().join("web-bench");
    let dir = parent.join(&key);
    if !dir.join("node_modules/playwright-core/package.json").is_file() {
        fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
        let temp = tempfile::Builder::new().prefix(".install-").tempdir_in(&parent)?;
        fs::write(temp.path().join("package.json"), PACKAGE_JSON)?;
        fs::write(temp.path().join("package-lock.json"), PACKAGE_LOCK)?;
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(temp.path())
            .output()
            .context("running `npm ci` for playwright-core (is npm installed?)")?;
        if !out.status.success() {
            bail!("installing playwright-core with `npm ci`: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let _ = fs::remove_dir_all(&dir);
        fs::rename(temp.keep(), &dir).with_context(|| format!("moving the install to {}", dir.display()))?;
    }
    // The driver is rewritten each time: it changes with xtask, not with the lockfile.
    fs::write(dir.join("web-page.mjs"), DRIVER)?;
    fs::write(dir.join("chromium.mjs"), LAUNCH)?;
    Ok(dir)
}

impl WebPage {
    pub fn metrics(&self) -> Vec<(String, f64, &'static str)> {
        vec![
            ("size.web.transfer.gzip".into(), self.total.gzip as f64, "bytes"),
            ("size.web.transfer.raw".into(), self.total.raw as f64, "bytes"),
            ("startup.web/chromium.first_run".into(), self.first_run.median_ms, "ms"),
            ("startup.web/chromium.ready".into(), self.ready.median_ms, "ms"),
            ("startup.web/chromium.stop_to_idle".into(), self.stop_to_idle.median_ms, "ms"),
            ("startup.web/chromium.main_thread_lag".into(), self.main_thread_lag.median_ms, "ms"),
        ]
    }

    pub fn section(&self) -> Section {
        let verdict = |ok: bool| if ok { "✅ yes" } else { "❌ no" }.to_owned();
        let time = |t: &Timing| format!("{:.1} ms ({:.1}–{:.1})", t.median_ms, t.min_ms, t.max_ms);
        let figures = Table {
            headers: ["figure", "median (min–max)", "target", "met"].map(String::from).to_vec(),
            rows: vec![
                vec![
                    "total transfer, gzip".into(),
                    format!("{} bytes", self.total.gzip),
                    format!("≤ {TRANSFER_GZIP} bytes"),
                    verdict(self.total.gzip <= TRANSFER_GZIP),
                ],
                vec![
                    "navigation to print(1)'s output".into(),
                    time(&self.first_run),
                    format!("≤ {FIRST_RUN_MS} ms"),
                    verdict(self.first_run.median_ms <= FIRST_RUN_MS),
                ],
                vec!["navigation to interpreter ready".into(), time(&self.ready), "–".into(), "–".into()],
                vec!["navigation to DOMContentLoaded".into(), time(&self.dom_content_loaded), "–".into(), "–".into()],
                vec![
                    "Stop on `while True: pass` to idle".into(),
                    time(&self.stop_to_idle),
                    format!("≤ {STOP_TO_IDLE_MS} ms"),
                    verdict(self.stop_to_idle.median_ms <= STOP_TO_IDLE_MS),
                ],
                vec![
                    "page timer lateness while Python spins".into(),
                    time(&self.main_thread_lag),
                    "–".into(),
                    "–".into(),
                ],
            ],
        };
        let files = Table {
            headers: ["file the page loads", "raw", "gzip"].map(String::from).to_vec(),
            rows: self
                .files
                .iter()
                .map(|(path, sizes)| vec![path.clone(), sizes.raw.to_string(), sizes.gzip.to_string()])
                .collect(),
        };
        Section {
            title: "Web page (dist/web)".into(),
            text: format!(
                "The playground in headless Chromium {}, {} loads, each in a fresh browser context \
                 (empty cache), served on localhost with COOP/COEP; Run is clicked at DOMContentLoaded \
                 with `print(1)` in the link. Transfer counts each file once, gzip -9.",
                self.chromium, self.loads
            ),
            tables: vec![figures, files],
            charts: Vec::new(),
        }
    }
}
