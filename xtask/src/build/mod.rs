//! `cargo xtask build`: MicroPython's C sources plus our port → a wasm32-wasi
//! command module, through clang driven by `cc`, incrementally.

mod compile;
mod frozen;
mod genhdr;
mod link;
mod mpy_cross;
mod port;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::fetch::{self, FetchArgs, SourceOrigin, SourceTree};
use crate::project;
use crate::toolchain::{self, Toolchain};
use compile::{Compiler, Mode, Unit};
use port::Port;

#[derive(clap::Args, Debug, Clone)]
pub struct BuildArgs {
    #[command(flatten)]
    pub fetch: FetchArgs,
    /// Port variant (a folder under ports/wasm/variants).
    #[arg(long, default_value = "standard")]
    pub variant: String,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Each artifact of the port (`command`, `library`) and its module.
    pub modules: BTreeMap<String, PathBuf>,
    pub variant: String,
    pub source: SourceTree,
    pub toolchain: Toolchain,
}

pub fn run(args: &BuildArgs) -> Result<BuildOutput> {
    let started = Instant::now();
    toolchain::ensure_installed()?;
    let toolchain = Toolchain::detect()?;
    let source = fetch::run(&args.fetch)?;
    let port = Port::load(&project::repo_root().join("ports/wasm"), &args.variant)?;
    let build_dir = project::build_root().join(&port.variant);
    let modules = build_modules(&source, &port, &toolchain, &build_dir)
        .with_context(|| format!("building the {} variant", port.variant))?;
    for module in modules.values() {
        eprintln!("built {}", module.display());
    }
    eprintln!("build finished in {:.1}s", started.elapsed().as_secs_f64());
    Ok(BuildOutput { modules, variant: port.variant, source, toolchain })
}

impl BuildOutput {
    /// The WASI command module.
    pub fn command_module(&self) -> &Path {
        &self.modules["command"]
    }
}

fn build_modules(
    source: &SourceTree,
    port: &Port,
    toolchain: &Toolchain,
    build_dir: &Path,
) -> Result<BTreeMap<String, PathBuf>> {
    let source_root = &source.root;
    let source_date_epoch = source_date_epoch(source_root);
    let compiler = wasm_compiler(toolchain, source_root, port, build_dir)?;

    let mut sources = port.micropython_sources(source_root)?;
    sources.extend(port.port_sources());
    let mut scanned: Vec<PathBuf> = sources.iter().filter(|path| !mpy_cross::is_nlr(path)).cloned().collect();
    scanned.extend(port.all_port_sources());
    scanned.sort();
    scanned.dedup();
    genhdr::generate(&genhdr::HeaderJob {
        source_root,
        build_dir,
        compiler: &compiler,
        scanned_sources: &scanned,
        extra_qstr_defs: &[port.dir.join("qstrdefsport.h")],
        source_date_epoch,
    })?;

    let mpy_cross_dir = project::cache_root().join("mpy-cross").join(source_key(source));
    let mpy_cross = mpy_cross::ensure(source_root, &mpy_cross_dir, source_date_epoch).context("building mpy-cross")?;
    let frozen = frozen::freeze(&frozen::FreezeJob {
        source_root,
        port_dir: &port.dir,
        build_dir,
        manifest: &port.frozen_manifest(),
        mpy_cross: &mpy_cross,
    })?;
    sources.push(frozen);

    let object_dir = build_dir.join("obj");
    let shared = units_for(&sources, source_root, &object_dir);
    let mut stats = compiler.run(Mode::Object, &shared, &[], "compile")?;

    let mut modules = BTreeMap::new();
    for (name, artifact) in &port.artifacts {
        let own = units_for(&port.artifact_sources(artifact), source_root, &object_dir.join(name));
        let defines: Vec<OsString> = artifact.defines.iter().map(|define| format!("-D{define}").into()).collect();
        let own_stats = compiler.run(Mode::Object, &own, &defines, name)?;
        stats.rebuilt += own_stats.rebuilt;
        stats.up_to_date += own_stats.up_to_date;

        let objects: Vec<PathBuf> = shared.iter().chain(&own).map(|unit| unit.output.clone()).collect();
        let wasm = build_dir.join(&artifact.output);
        link::link(&compiler, &objects, &port.link, artifact.exec_model, &wasm)
            .with_context(|| format!("linking the {name} module"))?;
        modules.insert(name.clone(), wasm);
    }
    eprintln!("compiled {} files ({} up to date)", stats.rebuilt, stats.up_to_date);
    Ok(modules)
}

fn units_for(sources: &[PathBuf], source_root: &Path, object_dir: &Path) -> Vec<Unit> {
    sources
        .iter()
        .map(|source| Unit {
            source: source.clone(),
            output: object_dir.join(genhdr::object_name(source_root, source, "o")),
        })
        .collect()
}

/// The C compiler for wasm32-wasi as `cc` configures it, plus the flags the
/// port needs. Paths of the source tree and checkout are mapped to fixed
/// names so the output does not depend on where they live.
fn wasm_compiler(toolchain: &Toolchain, source_root: &Path, port: &Port, build_dir: &Path) -> Result<Compiler> {
    let mut build = cc::Build::new();
    build
        .compiler(&toolchain.clang)
        .target("wasm32-wasi")
        .host(&mpy_cross::host_triple())
        .opt_level_str("2")
        .debug(false)
        .warnings(false)
        .cargo_metadata(false)
        .cargo_warnings(false)
        // Our setjmp.h must win over the sysroot's (which has none).
        .include(port.dir.join("include"))
        .include(&port.variant_dir)
        .include(&port.dir)
        .include(build_dir)
        .include(source_root)
        .define("NDEBUG", None)
        // extmod/modvfs.c includes the FAT headers even with FAT disabled.
        .define("FFCONF_H", "\"lib/oofatfs/ffconf.h\"")
        .define("MPWASM_C_STACK_SIZE", port.link.stack_size.to_string().as_str())
        .flag(format!("--sysroot={}", toolchain.sysroot.display()))
        .flag("-std=gnu99")
        .flag("-fno-common")
        .flag("-mexception-handling")
        .flag("-mllvm")
        .flag("-wasm-enable-sjlj")
        .flag(format!("-ffile-prefix-map={}=/micropython", source_root.display()))
        .flag(format!("-ffile-prefix-map={}=/mpwasm", project::repo_root().display()));
    Compiler::from_cc(&build)
}

/// Build date stamped into the version header: the source tree's own date,
/// so the same sources always give the same bytes.
fn source_date_epoch(source_root: &Path) -> u64 {
    std::fs::metadata(source_root.join("py/mpconfig.h"))
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs())
}

/// Names the cache entry of things built from one source tree.
fn source_key(source: &SourceTree) -> String {
    match &source.origin {
        SourceOrigin::Archive { sha256, .. } => sha256[..16].to_owned(),
        SourceOrigin::LocalDir => {
            let digest = Sha256::digest(source.root.to_string_lossy().as_bytes());
            format!("local-{}", &hex::encode(digest)[..16])
        }
    }
}
