//! `cargo xtask dist`: build, then lay out each bundle under `dist/`.
//!
//! Every bundle is assembled in a temporary folder beside its destination and
//! renamed into place only when complete, so `dist/` always holds either the
//! previous complete bundle or the new one.

mod abi;
mod checksums;
pub mod component;
mod npm;
mod python;
mod rust;
mod staging;
mod wasi;
mod web;

use anyhow::{Context, Result};

use crate::build::{self, BuildArgs, UserArgs};
use crate::project;

#[derive(clap::Args, Debug, Clone)]
pub struct DistArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub user: UserArgs,
}

pub fn run_dist(args: &DistArgs) -> Result<()> {
    let output = build::run_with(&args.build, &args.user)?;
    let api = abi::read(&project::repo_root().join("ports/wasm/mpwasm_api.h"), &output.toolchain)?;
    for modules in [&output.modules, &output.exnref_modules] {
        let library = modules.get("library").context("the port builds no `library` module")?;
        let bytes = std::fs::read(library).with_context(|| format!("reading {}", library.display()))?;
        abi::check_exports(&api, &bytes).with_context(|| format!("checking {}", library.display()))?;
    }
    let dist = project::dist_root();
    // Every bundle is staged before any replaces its predecessor, so a
    // failure in one leaves all of dist/ as it was.
    let staged = [
        wasi::write_bundle(&output, &dist)?,
        npm::write_package(&output, &api, &dist)?,
        rust::write_crate(&output, &api, &dist)?,
        python::write_bundle(&output, &api, &dist)?,
        component::write_bundle(&output, &dist)?,
        web::write_bundle(&output, &api, &dist)?,
    ];
    for bundle in staged {
        println!("{}", bundle.commit()?.display());
    }
    Ok(())
}
