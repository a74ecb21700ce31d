//! `cargo xtask`: fetch → build → post-process → package → bench for
//! WebAssembly MicroPython. Each stage lives in the folder of the same name.

mod bench;
mod build;
mod ci;
mod conformance;
mod dirlock;
mod fetch;
mod inspect;
mod package;
mod postprocess;
mod progress;
mod project;
mod release;
mod serve;
mod sizes;
mod toolchain;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build and package WebAssembly MicroPython", arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Download (or reuse) the pinned MicroPython sources, checksum-verified.
    Fetch(fetch::FetchArgs),
    /// Compile MicroPython and our port to wasm32-wasi modules, then post-process them.
    Build(build::BuildCommand),
    /// The main job: fetch, build, package every bundle under dist/ and write the benchmark report.
    Release(release::ReleaseArgs),
    /// Fetch, build and package every bundle under dist/ (no report).
    Dist(package::DistArgs),
    /// Serve dist/web (the playground page) on localhost, cross-origin isolated.
    Serve(serve::ServeArgs),
    /// Print a built module's provenance, sizes, imports and exports.
    Inspect(inspect::InspectArgs),
    /// Report which toolchain pieces are present and how to install the rest.
    Doctor,
    /// Install the pinned toolchain with apt-get (needs root).
    Setup,
    /// Measure size, start-up and speed against upstream and native; diff against a baseline.
    Bench(bench::BenchArgs),
    /// MicroPython's own test suite on the wasm build against a native reference.
    Conformance(conformance::ConformanceArgs),
    /// Everything CI checks: set-up, then the whole test suite.
    Ci(ci::CiArgs),
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Fetch(args) => fetch::run(&args).map(|_| ()),
        Task::Build(args) => build::run_with(&args.build, &args.user).map(|_| ()),
        Task::Release(args) => release::run(&args),
        Task::Dist(args) => package::run_dist(&args),
        Task::Serve(args) => serve::run(&args),
        Task::Inspect(args) => inspect::run(&args),
        Task::Doctor => toolchain::doctor(),
        Task::Setup => toolchain::setup(),
        Task::Bench(args) => bench::run(&args),
        Task::Ci(args) => ci::run(&args),
        Task::Conformance(args) => conformance::run(&args),
    }
}
