//! The component bundle beside the library module: sizes (raw, gzip) of
//! the components as `cargo xtask dist` makes them, and a warm instantiate
//! plus first `run("print(1)")` of the library component under wasmtime.

use std::fs;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

use super::report::{Chart, Section, Table};
use super::stats;
use crate::build::BuildOutput;
use crate::postprocess::component::{componentize, Kind};
use crate::sizes::Sizes;

wasmtime::component::bindgen!({ path: "../ports/wasm/wit", world: "library" });

/// Target: the library component's gzip size over the library module's.
pub const SIZE_TARGET: f64 = 1.3;
/// Target: instantiate + first `run("print(1)")`, warm, in µs.
pub const START_TARGET_US: f64 = 1000.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComponentBench {
    pub build: String,
    /// The library module wasmtime runs (standard exception handling).
    pub library_module: Sizes,
    /// The library component made from the same build's component module.
    pub library_component: Sizes,
    /// The same in the legacy encoding (jco).
    pub library_component_legacy: Sizes,
    pub command_component: Sizes,
    /// `library_component.gzip / library_module.gzip`.
    pub gzip_ratio: f64,
    /// Instantiate, create a session, `run("print(1)")`: median, min, max.
    pub start_us: [f64; 3],
    pub runs: usize,
}

struct Embedder {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Embedder {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl mpwasm::micropython::host::Host for Embedder {
    fn call(&mut self, name: String, _args_json: String) -> Result<String, String> {
        Err(format!("no host function {name} in the benchmark"))
    }
}

pub fn measure(name: &str, build: &BuildOutput, runs: usize) -> Result<ComponentBench> {
    let read = |path: &std::path::Path| fs::read(path).with_context(|| format!("reading {}", path.display()));
    let library_module = read(&build.exnref_modules["library"])?;
    let component = componentize(&read(&build.exnref_modules["component"])?, Kind::Library)?;
    let legacy = componentize(&read(&build.modules["component"])?, Kind::Library)?;
    let command = componentize(&read(&build.exnref_modules["command"])?, Kind::Command)?;
    let times = start_times(&component, runs)?;
    let library_module = Sizes::of(&library_module);
    let library_component = Sizes::of(&component);
    Ok(ComponentBench {
        build: name.to_owned(),
        gzip_ratio: library_component.gzip as f64 / library_module.gzip as f64,
        library_module,
        library_component,
        library_component_legacy: Sizes::of(&legacy),
        command_component: Sizes::of(&command),
        start_us: stats::median_min_max(&times),
        runs,
    })
}

/// Compiled once; then each run a fresh store, instance and session.
fn start_times(component: &[u8], runs: usize) -> Result<Vec<f64>> {
    let wasm = |err: wasmtime::Error| anyhow!("{err:?}");
    let mut config = Config::new();
    config.wasm_exceptions(true);
    let engine = Engine::new(&config).map_err(wasm)?;
    let component = Component::new(&engine, component).map_err(wasm)?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(wasm)?;
    Library::add_to_linker::<_, HasSelf<Embedder>>(&mut linker, |state| state).map_err(wasm)?;
    let pre = LibraryPre::new(linker.instantiate_pre(&component).map_err(wasm)?).map_err(wasm)?;
    let limits = exports::mpwasm::micropython::interpreter::Limits { heap_bytes: None, output_bytes: None };
    let mut times = Vec::with_capacity(runs);
    // One unmeasured run warms the allocator and the page cache.
    for run in 0..=runs {
        let started = Instant::now();
        let mut store = Store::new(&engine, Embedder { wasi: WasiCtx::builder().build(), table: ResourceTable::new() });
        let library = pre.instantiate(&mut store).map_err(wasm)?;
        let session = library.mpwasm_micropython_interpreter().session();
        let handle = session.call_constructor(&mut store, limits).map_err(wasm)?;
        let output = session
            .call_run(&mut store, handle, "print(1)")
            .map_err(wasm)?
            .map_err(|error| anyhow!("print(1) failed in the component: {}", error.traceback))?;
        let elapsed = started.elapsed().as_secs_f64() * 1e6;
        if output.stdout != "1\n" {
            anyhow::bail!("print(1) in the component printed {:?}", output.stdout);
        }
        if run > 0 {
            times.push(elapsed);
        }
    }
    Ok(times)
}

impl ComponentBench {
    pub fn metrics(&self, put: &mut dyn FnMut(String, f64, &str)) {
        let prefix = format!("component.{}", self.build);
        for (name, sizes) in [
            ("library", &self.library_component),
            ("library_legacy", &self.library_component_legacy),
            ("command", &self.command_component),
        ] {
            put(format!("{prefix}.{name}.raw"), sizes.raw as f64, "bytes");
            put(format!("{prefix}.{name}.gzip"), sizes.gzip as f64, "bytes");
        }
        put(format!("{prefix}.gzip_ratio"), self.gzip_ratio, "x library module");
        put(format!("{prefix}.start"), self.start_us[0], "us");
    }

    pub fn section(&self) -> Section {
        let kb = |bytes: u64| format!("{:.1}", bytes as f64 / 1000.0);
        let row = |name: &str, sizes: &Sizes| {
            vec![
                name.to_owned(),
                kb(sizes.raw),
                kb(sizes.gzip),
                format!("{:.2}×", sizes.gzip as f64 / self.library_module.gzip as f64),
            ]
        };
        let met = |ok: bool| if ok { "met" } else { "not met" };
        let [median, min, max] = self.start_us;
        Section {
            title: "Component".into(),
            text: format!(
                "dist/component's components made from the {} build (the library component through the WASI preview 1 reactor adapter, the command through the command adapter), beside the library module wasmtime runs. Library component gzip / library module gzip: {:.2}× (target ≤ {SIZE_TARGET}×: {}). Instantiate + new session + first run(\"print(1)\") under wasmtime, warm (compiled once, a fresh store and instance each run): median {median:.0} µs, min–max {min:.0}–{max:.0} µs over {} runs (target ≤ {START_TARGET_US:.0} µs: {}).",
                self.build,
                self.gzip_ratio,
                met(self.gzip_ratio <= SIZE_TARGET),
                self.runs,
                met(median <= START_TARGET_US),
            ),
            tables: vec![Table {
                headers: ["file", "raw kB", "gzip kB", "gzip × library module"].map(String::from).to_vec(),
                rows: vec![
                    row("library module (micropython-lib.exnref.wasm)", &self.library_module),
                    row("micropython-library.wasm", &self.library_component),
                    row("micropython-library.legacy-eh.wasm", &self.library_component_legacy),
                    row("micropython-command.wasm", &self.command_component),
                ],
            }],
            charts: vec![Chart {
                title: "gzip size, kB".into(),
                unit: "kB".into(),
                bars: vec![
                    ("library module".into(), self.library_module.gzip as f64 / 1000.0),
                    ("library component".into(), self.library_component.gzip as f64 / 1000.0),
                ],
            }],
        }
    }
}
