//! `cargo xtask inspect FILE.wasm`: provenance, sizes and interface of a
//! built module.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::build::frozen_sizes::FrozenSizes;
use crate::postprocess::{symbols::SymbolMap, Provenance};
use crate::sizes::Sizes;

#[derive(clap::Args, Debug, Clone)]
pub struct InspectArgs {
    /// A module built by this project.
    pub module: PathBuf,
    /// How many of the largest functions to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let bytes = std::fs::read(&args.module).with_context(|| format!("reading {}", args.module.display()))?;
    match Provenance::read(&bytes)? {
        Some(provenance) => print!("{}", provenance.to_json()),
        None => println!("(no {} section: not built by this project)", crate::postprocess::provenance::SECTION_NAME),
    }
    let sizes = Sizes::of(&bytes);
    println!("size: {} bytes raw, {} gzip, {} brotli", sizes.raw, sizes.gzip, sizes.brotli);
    let symbols = SymbolMap::of(&bytes)?;
    for (section, size) in &symbols.sections {
        println!("section {section}: {size} bytes");
    }
    for function in symbols.functions.iter().take(args.top) {
        println!("function {}: {} bytes", function.name, function.bytes);
    }
    if let Some(frozen) = FrozenSizes::beside(&args.module)? {
        for line in frozen.lines() {
            println!("{line}");
        }
    }
    let module = walrus::Module::from_buffer(&bytes).context("walrus could not read the module")?;
    for import in module.imports.iter() {
        println!("import {}.{}", import.module, import.name);
    }
    for export in module.exports.iter() {
        println!("export {}", export.name);
    }
    Ok(())
}
