//! Importing a frozen package against importing the same source from a
//! preopened folder: `examples/frozen-app/measure_import.py` imports
//! `textstats` many times in one process, from `.frozen` and from `/app`,
//! in an image built with `examples/micropython-wasm.toml`, under wasmtime.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::stats;
use super::wasi::{Preopen, WasmtimeHost};

pub const PACKAGE: &str = "textstats";
/// Imports timed in each process (the script prints their mean).
pub const IMPORTS: u32 = 500;
const GUEST_DIR: &str = "/app";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportSpeed {
    /// The build with the example configuration.
    pub build: String,
    pub package: String,
    /// Imports per process; each process prints their mean.
    pub imports: u32,
    /// From the image (`sys.path = [".frozen"]`).
    pub frozen: ImportTimes,
    /// From the source in the preopened folder (`sys.path = ["/app"]`).
    pub preopened: ImportTimes,
    /// `frozen.median_us / preopened.median_us`: below 1, the frozen import
    /// is faster.
    pub ratio: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportTimes {
    /// The `sys.path` entry.
    pub path: String,
    /// Median over the processes of each one's mean import time.
    pub median_us: f64,
    pub min_us: f64,
    pub max_us: f64,
    pub per_process_us: Vec<f64>,
}

/// Runs `processes` processes for each path, alternating, so a drift of the
/// machine lands on both.
pub fn measure(build: &str, host: &WasmtimeHost, app_dir: &Path, processes: usize) -> Result<ImportSpeed> {
    let script = format!("{GUEST_DIR}/measure_import.py");
    let imports = IMPORTS.to_string();
    let mut frozen = Vec::with_capacity(processes);
    let mut preopened = Vec::with_capacity(processes);
    let progress = crate::progress::bar(processes as u64 * 2, "import");
    for _ in 0..processes {
        for (path, times) in [(".frozen", &mut frozen), (GUEST_DIR, &mut preopened)] {
            progress.set_message(format!("{PACKAGE} from {path}"));
            let run = host.run_with(
                &[script.as_str(), PACKAGE, path, imports.as_str()],
                Some(Preopen { guest: GUEST_DIR, host: app_dir }),
            )?;
            if run.status != 0 {
                bail!("{script} {PACKAGE} {path} exited with {}: {}", run.status, run.stderr.trim());
            }
            times.push(parse_line(&run.stdout, path).with_context(|| {
                format!("{script} {PACKAGE} {path} printed {:?}, not its timing", run.stdout.trim())
            })?);
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    let frozen = summary(".frozen", frozen);
    let preopened = summary(GUEST_DIR, preopened);
    Ok(ImportSpeed {
        build: build.to_owned(),
        package: PACKAGE.into(),
        imports: IMPORTS,
        ratio: frozen.median_us / preopened.median_us,
        frozen,
        preopened,
    })
}

fn summary(path: &str, times: Vec<f64>) -> ImportTimes {
    let [median_us, min_us, max_us] = stats::median_min_max(&times);
    ImportTimes { path: path.to_owned(), median_us, min_us, max_us, per_process_us: times }
}

/// `import PACKAGE from PATH: N us (RUNS runs)`.
fn parse_line(stdout: &str, path: &str) -> Option<f64> {
    let prefix = format!("import {PACKAGE} from {path}: ");
    let line = stdout.lines().find_map(|line| line.trim().strip_prefix(prefix.as_str()))?;
    let (us, runs) = line.split_once(" us (")?;
    (runs == format!("{IMPORTS} runs)")).then_some(())?;
    us.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_timing_line() {
        assert_eq!(parse_line("import textstats from .frozen: 42 us (500 runs)\n", ".frozen"), Some(42.0));
        assert_eq!(parse_line("import textstats from /app: 42 us (3 runs)\n", "/app"), None);
        assert_eq!(parse_line("Traceback\n", "/app"), None);
    }
}
