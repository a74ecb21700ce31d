//! What the default GC strategy costs: each build with `--gc spill` (the
//! default, a pointer-spilling pass) against the same build with `--gc scan`
//! (no pass), in size and in perf_bench speed under wasmtime. Scan is only
//! correct while the collector does not run, so both run in a heap so large
//! that it barely does; a scan result that differs from native's is flagged,
//! not dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::perf::Perf;
use crate::sizes::Sizes;

/// Heap of the comparison: the collector barely runs.
pub const HEAP_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GcCost {
    /// One perf_bench run: native, then `<build>/spill` and `<build>/scan`
    /// under wasmtime for each build.
    pub perf: Perf,
    pub builds: Vec<GcBuild>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GcBuild {
    /// `<variant>-<profile>`.
    pub build: String,
    /// The command module, as shipped (legacy exception handling).
    pub spill: Sizes,
    pub scan: Sizes,
    /// spill / scan.
    pub raw_ratio: f64,
    pub gzip_ratio: f64,
    /// spill / scan of the perf_bench geomeans (× native), over the
    /// programs every host of the run ran with native's results.
    pub speed_ratio: Option<f64>,
    /// spill / scan of each program's median, wherever both ran; a result
    /// that differs from native's is listed in `flagged` too.
    pub programs: BTreeMap<String, f64>,
    /// Programs where a strategy failed or printed another result than
    /// native, and what happened.
    pub flagged: Vec<String>,
}

pub fn spill_host(build: &str) -> String {
    format!("{build}/spill")
}

pub fn scan_host(build: &str) -> String {
    format!("{build}/scan")
}

/// Compares each build's two strategies (`(name, spill sizes, scan sizes)`)
/// in the perf_bench run made with their hosts.
pub fn compare(builds: &[(String, Sizes, Sizes)], perf: Perf) -> GcCost {
    let builds = builds
        .iter()
        .map(|(name, spill, scan)| {
            let (spill_host, scan_host) = (spill_host(name), scan_host(name));
            let mut programs = BTreeMap::new();
            let mut flagged = Vec::new();
            for program in &perf.programs {
                let (Some(spilled), Some(scanned)) = (program.hosts.get(&spill_host), program.hosts.get(&scan_host))
                else {
                    continue;
                };
                if let (Some(spilled), Some(scanned)) = (spilled.median_us, scanned.median_us) {
                    programs.insert(program.name.clone(), spilled / scanned);
                }
                for (strategy, measured) in [("spill", spilled), ("scan", scanned)] {
                    match &measured.error {
                        Some(error) => flagged.push(format!("{} under {strategy}: {error}", program.name)),
                        None if !measured.same_result_as_native => {
                            flagged.push(format!("{} under {strategy}: result differs from native's", program.name))
                        }
                        None => {}
                    }
                }
            }
            let geomean = |host: &str| perf.geomean_ratio.get(host).copied();
            GcBuild {
                build: name.clone(),
                raw_ratio: spill.raw as f64 / scan.raw as f64,
                gzip_ratio: spill.gzip as f64 / scan.gzip as f64,
                speed_ratio: geomean(&spill_host).zip(geomean(&scan_host)).map(|(spill, scan)| spill / scan),
                spill: *spill,
                scan: *scan,
                programs,
                flagged,
            }
        })
        .collect();
    GcCost { perf, builds }
}
