//! `cargo xtask dist`: build, then lay out each bundle under `dist/`.
//!
//! Every bundle is assembled in a temporary folder beside its destination and
//! renamed into place only when complete, so `dist/` always holds either the
//! previous complete bundle or the new one.

mod npm;
mod rust;
mod staging;
mod wasi;

use anyhow::Result;

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
    let dist = project::dist_root();
    let wasi_dir = wasi::write_bundle(&output, &dist)?;
    println!("{}", wasi_dir.display());
    println!("{}", npm::write_package(&output, &dist)?.display());
    println!("{}", rust::write_crate(&output, &dist)?.display());
    Ok(())
}
