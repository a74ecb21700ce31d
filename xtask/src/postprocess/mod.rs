//! Post-processing of a linked module: Binaryen optimisation (and the GC's
//! pointer spilling), the import/export audit, provenance, stripping, and
//! the exnref form of exception handling for wasmtime.

mod audit;
pub mod component;
pub mod exnref;
mod optimize;
pub mod profile;
pub mod provenance;
mod spill;
pub mod symbols;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use walrus::{ModuleConfig, RawCustomSection};

pub use audit::Expectations;
pub use optimize::BINARYEN_VERSION;
pub use profile::{GcStrategy, Profile};
pub use provenance::Provenance;
use symbols::SymbolMap;

/// walrus release used for the audit, provenance and exnref passes.
pub const WALRUS_VERSION: &str = "0.28";

/// The two encodings of WebAssembly exception handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EhForm {
    /// `try`/`catch`: what clang-19 emits; Node 20 and browsers run it.
    Legacy,
    /// `try_table`/`exnref`: the standardised form; wasmtime runs it.
    Exnref,
}

impl EhForm {
    pub fn name(self) -> &'static str {
        match self {
            EhForm::Legacy => "legacy",
            EhForm::Exnref => "exnref",
        }
    }
}

/// The finished modules of one artifact.
#[derive(Debug, Clone)]
pub struct Processed {
    pub legacy: PathBuf,
    pub exnref: PathBuf,
    /// Per-section and per-function sizes of the optimised module.
    pub symbols: PathBuf,
}

pub struct Job<'a> {
    pub linked: &'a Path,
    /// Path of the legacy-form output; the exnref form and the symbol map
    /// are written beside it.
    pub output: &'a Path,
    pub profile: Profile,
    pub gc: GcStrategy,
    pub expectations: Expectations<'a>,
    /// Provenance of the legacy form (its `exception_handling` is replaced
    /// for the exnref form).
    pub provenance: Provenance,
}

pub fn run(job: &Job) -> Result<Processed> {
    let exnref_path = sibling(job.output, "exnref.wasm");
    let symbols_path = sibling(job.output, "symbols.json");
    let outputs = Processed { legacy: job.output.to_path_buf(), exnref: exnref_path, symbols: symbols_path };
    let record_path = sibling(job.output, "provenance.json");
    // The record also names the xtask binary, so a changed pass reruns.
    let record = format!("{}{}\n", job.provenance.to_json(), tool_identity());
    if is_current(job.linked, &outputs, &record_path, &record) {
        return Ok(outputs);
    }

    // Binaryen runs twice, with the spill pass in between when there is one:
    // the first run leaves far fewer locals and shorter live ranges for it
    // to spill (and smaller frames in the host's native stack, where deep C
    // recursion must hit MicroPython's own stack check first); the second
    // cleans up after it. Scan builds take the same two runs, so the two
    // strategies differ only by the spilling.
    let preoptimized = sibling(job.output, "preopt.wasm");
    optimize::optimize(job.linked, &preoptimized, job.profile)?;
    let mut module = parse(&fs::read(&preoptimized)?, Profile::Debug)?;
    if job.gc == GcStrategy::Spill {
        spill::spill_pointers(&mut module).context("spilling pointers for the garbage collector")?;
    }
    write_atomically(&preoptimized, &module.emit_wasm())?;
    let optimized = sibling(job.output, "opt.wasm");
    optimize::optimize(&preoptimized, &optimized, job.profile)?;
    fs::remove_file(&preoptimized)?;
    let optimized_bytes = fs::read(&optimized)?;
    fs::remove_file(&optimized)?;
    let symbol_map = SymbolMap::of(&optimized_bytes)?;
    write_atomically(&outputs.symbols, serde_json::to_string_pretty(&symbol_map)?.as_bytes())?;

    let mut module = parse(&optimized_bytes, job.profile)?;
    audit::check(&module, &job.expectations).with_context(|| format!("checking {}", job.linked.display()))?;
    if job.profile.strips_names() {
        strip_debug_sections(&mut module);
    }

    let legacy = with_provenance(module.emit_wasm(), &job.provenance, job.profile)?;
    write_atomically(&outputs.legacy, &legacy)?;

    let mut module = parse(&legacy, job.profile)?;
    exnref::translate_legacy_to_exnref(&mut module).context("translating exception handling to exnref")?;
    if exnref::has_legacy_eh(&module) {
        anyhow::bail!("legacy exception handling is left in {} after the exnref translation", job.output.display());
    }
    let exnref_provenance =
        Provenance { exception_handling: EhForm::Exnref.name().to_owned(), ..job.provenance.clone() };
    let exnref = with_provenance(module.emit_wasm(), &exnref_provenance, job.profile)?;
    write_atomically(&outputs.exnref, &exnref)?;

    // Written last: it marks the outputs as complete for this configuration.
    write_atomically(&record_path, record.as_bytes())?;
    Ok(outputs)
}

fn parse(bytes: &[u8], profile: Profile) -> Result<walrus::Module> {
    let mut config = ModuleConfig::new();
    // Keep names only where the profile keeps them; never add a producers
    // section of walrus's own (it would differ between walrus releases).
    config.generate_name_section(!profile.strips_names()).generate_producers_section(false);
    config.parse(bytes).context("walrus could not read the module")
}

fn strip_debug_sections(module: &mut walrus::Module) {
    let removable: Vec<_> = module
        .customs
        .iter()
        .filter(|(_, section)| {
            let name = section.name();
            name.starts_with(".debug") || name == "producers" || name == "sourceMappingURL"
        })
        .map(|(id, _)| id)
        .collect();
    for id in removable {
        module.customs.delete(id);
    }
}

/// Replaces any provenance section in `bytes` with `provenance`.
fn with_provenance(bytes: Vec<u8>, provenance: &Provenance, profile: Profile) -> Result<Vec<u8>> {
    let mut module = parse(&bytes, profile)?;
    let stale: Vec<_> =
        module.customs.iter().filter(|(_, s)| s.name() == provenance::SECTION_NAME).map(|(id, _)| id).collect();
    for id in stale {
        module.customs.delete(id);
    }
    module
        .customs
        .add(RawCustomSection { name: provenance::SECTION_NAME.to_owned(), data: provenance.to_json().into_bytes() });
    Ok(module.emit_wasm())
}

/// Size and modification time of the running xtask executable.
fn tool_identity() -> String {
    let meta = std::env::current_exe().and_then(fs::metadata);
    match meta.and_then(|meta| Ok((meta.len(), meta.modified()?))) {
        Ok((len, modified)) => format!("xtask {len} bytes, modified {modified:?}"),
        Err(_) => "xtask unknown".to_owned(),
    }
}

fn sibling(path: &Path, extension: &str) -> PathBuf {
    path.with_extension(extension)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = sibling(path, "partial");
    fs::write(&temp, bytes).with_context(|| format!("writing {}", temp.display()))?;
    fs::rename(&temp, path).with_context(|| format!("replacing {}", path.display()))
}

fn is_current(linked: &Path, outputs: &Processed, record_path: &Path, record: &str) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    let Some(input_time) = modified(linked) else { return false };
    fs::read_to_string(record_path).is_ok_and(|old| old == record)
        && [&outputs.legacy, &outputs.exnref, &outputs.symbols]
            .iter()
            .all(|output| modified(output).is_some_and(|time| time >= input_time))
}
