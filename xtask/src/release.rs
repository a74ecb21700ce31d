//! `cargo xtask release`: the main job. Every bundle under `dist/`, then the
//! benchmark report about them in `dist/report/`, so one command leaves
//! release artifacts and the figures that describe them side by side.

use anyhow::Result;

use crate::{bench, package};

#[derive(clap::Args, Debug, Clone)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub dist: package::DistArgs,
    /// Write a quick benchmark report (a smoke run with every figure, in
    /// about a minute) instead of the full one.
    #[arg(long)]
    pub quick_report: bool,
}

pub fn run(args: &ReleaseArgs) -> Result<()> {
    package::run_dist(&args.dist)?;
    bench::run(&bench::BenchArgs {
        fetch: args.dist.build.fetch.clone(),
        variants: vec![args.dist.build.variant.clone()],
        profiles: Vec::new(),
        quick: args.quick_report,
        baseline: None,
        fail_over: bench::DEFAULT_FAIL_OVER,
        current: None,
        out: None,
    })
}
