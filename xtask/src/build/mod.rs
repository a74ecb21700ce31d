//! `cargo xtask build`: MicroPython's C sources plus our port → wasm32-wasi
//! modules, through clang driven by `cc`, incrementally, then post-processed
//! (see `postprocess/`).

pub(crate) mod compile;
pub(crate) mod frozen;
pub(crate) mod genhdr;
mod link;
pub(crate) mod mpy_cross;
pub(crate) mod port;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::fetch::{self, FetchArgs, SourceOrigin, SourceTree};
use crate::postprocess::provenance::{self, SourceRecord, ToolchainRecord};
use crate::postprocess::{self, EhForm, GcStrategy, Processed, Profile, Provenance};
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
    /// Optimisation profile.
    #[arg(long, value_enum, default_value_t = Profile::Size)]
    pub profile: Profile,
    /// How the garbage collector finds pointers held by C code.
    #[arg(long, value_enum, default_value_t = GcStrategy::Spill)]
    pub gc: GcStrategy,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Each artifact of the port (`command`, `library`) and its module in
    /// the legacy exception-handling form (Node, browsers).
    pub modules: BTreeMap<String, PathBuf>,
    /// The same modules in the exnref form (wasmtime).
    pub exnref_modules: BTreeMap<String, PathBuf>,
    /// Per-section and per-function sizes of each artifact.
    pub symbol_maps: BTreeMap<String, PathBuf>,
    pub variant: String,
    pub profile: Profile,
    pub gc: GcStrategy,
    pub source: SourceTree,
    pub toolchain: Toolchain,
}

pub fn run(args: &BuildArgs) -> Result<BuildOutput> {
    let started = Instant::now();
    toolchain::ensure_installed()?;
    let toolchain = Toolchain::detect()?;
    let source = fetch::run(&args.fetch)?;
    let port = Port::load(&project::repo_root().join("ports/wasm"), &args.variant)?;
    let settings = Settings { profile: args.profile, gc: args.gc };
    let build_dir = project::build_root().join(settings.folder_name(&port.variant));
    let processed = build_modules(&source, &port, &toolchain, &settings, &build_dir)
        .with_context(|| format!("building the {} variant ({} profile)", port.variant, settings.profile))?;
    for module in processed.values() {
        eprintln!("built {}", module.legacy.display());
    }
    eprintln!("build finished in {:.1}s", started.elapsed().as_secs_f64());
    let pick = |field: fn(&Processed) -> &PathBuf| -> BTreeMap<String, PathBuf> {
        processed.iter().map(|(name, outputs)| (name.clone(), field(outputs).clone())).collect()
    };
    Ok(BuildOutput {
        modules: pick(|p| &p.legacy),
        exnref_modules: pick(|p| &p.exnref),
        symbol_maps: pick(|p| &p.symbols),
        variant: port.variant,
        profile: settings.profile,
        gc: settings.gc,
        source,
        toolchain,
    })
}

/// Choices that change the compiled bytes, beyond the variant.
struct Settings {
    profile: Profile,
    gc: GcStrategy,
}

impl Settings {
    /// Each configuration builds in a folder of its own, so switching back
    /// and forth stays incremental.
    fn folder_name(&self, variant: &str) -> String {
        match self.gc {
            GcStrategy::Spill => format!("{variant}-{}", self.profile),
            GcStrategy::Scan => format!("{variant}-{}-gc-scan", self.profile),
        }
    }
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
    settings: &Settings,
    build_dir: &Path,
) -> Result<BTreeMap<String, Processed>> {
    let source_root = &source.root;
    let source_date_epoch = source_date_epoch(source_root);
    let compiler = wasm_compiler(toolchain, source_root, port, settings.profile, build_dir)?;

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
        let linked = build_dir.join("linked").join(&artifact.output);
        link::link(&compiler, &objects, &port.link, artifact.exec_model, &linked)
            .with_context(|| format!("linking the {name} module"))?;
        let processed = postprocess::run(&postprocess::Job {
            linked: &linked,
            output: &build_dir.join(&artifact.output),
            profile: settings.profile,
            gc: settings.gc,
            expectations: postprocess::Expectations {
                host_imports: &artifact.host_imports,
                exports: &artifact.exports,
            },
            provenance: provenance_of(source, port, toolchain, settings, name, build_dir)?,
        })
        .with_context(|| format!("post-processing the {name} module"))?;
        modules.insert(name.clone(), processed);
    }
    eprintln!("compiled {} files ({} up to date)", stats.rebuilt, stats.up_to_date);
    Ok(modules)
}

fn provenance_of(
    source: &SourceTree,
    port: &Port,
    toolchain: &Toolchain,
    settings: &Settings,
    artifact: &str,
    build_dir: &Path,
) -> Result<Provenance> {
    Ok(Provenance {
        micropython_version: source.version.clone(),
        source: match &source.origin {
            SourceOrigin::Archive { url, sha256 } => SourceRecord::Archive { url: url.clone(), sha256: sha256.clone() },
            SourceOrigin::LocalDir => SourceRecord::LocalDirectory,
        },
        variant: port.variant.clone(),
        profile: settings.profile.to_string(),
        gc: settings.gc.to_string(),
        artifact: artifact.to_owned(),
        exception_handling: EhForm::Legacy.name().to_owned(),
        frozen_modules: frozen::frozen_module_hashes(build_dir)?,
        toolchain: ToolchainRecord {
            clang: toolchain.clang_version(),
            binaryen: postprocess::BINARYEN_VERSION.to_owned(),
            walrus: postprocess::WALRUS_VERSION.to_owned(),
        },
        repository_revision: provenance::repository_revision(),
    })
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
fn wasm_compiler(
    toolchain: &Toolchain,
    source_root: &Path,
    port: &Port,
    profile: Profile,
    build_dir: &Path,
) -> Result<Compiler> {
    let mut build = cc::Build::new();
    build
        .compiler(&toolchain.clang)
        .target("wasm32-wasi")
        .host(&mpy_cross::host_triple())
        .opt_level_str(profile.c_opt_level())
        .debug(profile == Profile::Debug)
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
pub(crate) fn source_date_epoch(source_root: &Path) -> u64 {
    std::fs::metadata(source_root.join("py/mpconfig.h"))
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs())
}

/// Names the cache entry of things built from one source tree.
pub(crate) fn source_key(source: &SourceTree) -> String {
    match &source.origin {
        SourceOrigin::Archive { sha256, .. } => sha256[..16].to_owned(),
        SourceOrigin::LocalDir => {
            let digest = Sha256::digest(source.root.to_string_lossy().as_bytes());
            format!("local-{}", &hex::encode(digest)[..16])
        }
    }
}
