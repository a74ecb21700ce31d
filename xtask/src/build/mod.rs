//! `cargo xtask build`: MicroPython's C sources plus our port → wasm32-wasi
//! modules, through clang driven by `cc`, incrementally, then post-processed
//! (see `postprocess/`).

mod c_modules;
pub(crate) mod compile;
pub(crate) mod frozen;
pub(crate) mod frozen_sizes;
pub(crate) mod genhdr;
mod link;
#[cfg(test)]
mod malloc_tests;
pub(crate) mod mpy_cross;
pub(crate) mod port;
mod user_checks;
mod user_config;
pub(crate) mod wit_glue;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::fetch::{self, FetchArgs, SourceOrigin, SourceTree};
use crate::postprocess::provenance::{self, SourceRecord, ToolchainRecord};
use crate::postprocess::{self, EhForm, GcStrategy, Processed, Profile, Provenance};
use crate::toolchain::{self, Toolchain};
use crate::{dirlock, project};
use c_modules::CModules;
use compile::{Compiler, Mode, Unit};
use frozen_sizes::FrozenSizes;
use port::Port;
use user_config::{UserConfig, UserFrozen};

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

/// The user's own modules, for the commands that make images for users.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct UserArgs {
    /// Build configuration (e.g. micropython-wasm.toml) with your own
    /// frozen Python (`[frozen]`) and C modules (`[c_modules]`).
    #[arg(long, env = "MPWASM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `cargo xtask build`.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildCommand {
    #[command(flatten)]
    pub build: BuildArgs,
    #[command(flatten)]
    pub user: UserArgs,
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
    /// Bytes of each frozen module (see `frozen_sizes.rs`), shared by the
    /// artifacts.
    pub frozen_sizes: PathBuf,
    pub variant: String,
    pub profile: Profile,
    pub gc: GcStrategy,
    pub source: SourceTree,
    pub toolchain: Toolchain,
}

/// Builds the port alone, without a user configuration.
pub fn run(args: &BuildArgs) -> Result<BuildOutput> {
    run_with(args, &UserArgs::default())
}

pub fn run_with(args: &BuildArgs, user: &UserArgs) -> Result<BuildOutput> {
    let started = Instant::now();
    // Read first: a mistake in the user's file should not wait for a fetch.
    let config = user.config.as_deref().map(UserConfig::load).transpose()?;
    toolchain::ensure_installed()?;
    let toolchain = Toolchain::detect()?;
    let source = fetch::run(&args.fetch)?;
    let port = Port::load(&project::repo_root().join("ports/wasm"), &args.variant)?;
    let settings = Settings { profile: args.profile, gc: args.gc, config_key: config.as_ref().map(UserConfig::key) };
    let build_dir = project::build_root().join(settings.folder_name(&port.variant));
    let _lock = dirlock::lock(&build_dir)?;
    let processed =
        build_modules(&source, &port, &toolchain, &settings, &build_dir, config.as_ref()).with_context(|| {
            let with = config.as_ref().map(|config| format!(" with {}", config.path.display())).unwrap_or_default();
            format!("building the {} variant ({} profile){with}", port.variant, settings.profile)
        })?;
    for module in processed.values() {
        eprintln!("built {}", module.legacy.display());
    }
    eprintln!("build finished in {:.1}s", started.elapsed().as_secs_f64());
    let pick = |field: fn(&Processed) -> &PathBuf| -> BTreeMap<String, PathBuf> {
        processed.iter().map(|(name, outputs)| (name.clone(), field(outputs).clone())).collect()
    };
    let output = BuildOutput {
        modules: pick(|p| &p.legacy),
        exnref_modules: pick(|p| &p.exnref),
        symbol_maps: pick(|p| &p.symbols),
        frozen_sizes: build_dir.join(frozen_sizes::FILE_NAME),
        variant: port.variant,
        profile: settings.profile,
        gc: settings.gc,
        source,
        toolchain,
    };
    if config.is_some() {
        for line in FrozenSizes::read(&output.frozen_sizes)?.lines() {
            eprintln!("{line}");
        }
    }
    Ok(output)
}

/// Choices that change the compiled bytes, beyond the variant.
struct Settings {
    profile: Profile,
    gc: GcStrategy,
    /// `UserConfig::key` of the user's build configuration, if any.
    config_key: Option<String>,
}

impl Settings {
    /// Each configuration builds in a folder of its own, so switching back
    /// and forth stays incremental.
    fn folder_name(&self, variant: &str) -> String {
        let mut name = format!("{variant}-{}", self.profile);
        if self.gc == GcStrategy::Scan {
            name.push_str("-gc-scan");
        }
        if let Some(key) = &self.config_key {
            name.push_str(&format!("-user-{key}"));
        }
        name
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
    config: Option<&UserConfig>,
) -> Result<BTreeMap<String, Processed>> {
    let source_root = &source.root;
    let source_date_epoch = source_date_epoch(source_root);
    let c_modules = match config {
        Some(config) => CModules::find(&config.c_module_dirs)?,
        None => CModules::default(),
    };
    let compiler = wasm_compiler(toolchain, source_root, port, settings.profile, build_dir, &c_modules.dirs)?;

    let mut sources = port.micropython_sources(source_root, &patched_root(build_dir))?;
    sources.extend(port.port_sources());
    sources.extend(c_modules.sources.iter().cloned());
    let mut scanned: Vec<PathBuf> = sources.iter().filter(|path| !mpy_cross::is_nlr(path)).cloned().collect();
    scanned.extend(port.all_port_sources());
    scanned.sort();
    scanned.dedup();

    // The frozen files are listed and compiled once before the long header
    // and C work, so a mistake in the user's Python fails within seconds.
    std::fs::create_dir_all(build_dir).with_context(|| format!("creating {}", build_dir.display()))?;
    let mpy_cross_dir = project::cache_root().join("mpy-cross").join(source_key(source));
    let mpy_cross = mpy_cross::ensure(source_root, &mpy_cross_dir, source_date_epoch).context("building mpy-cross")?;
    let user_manifest = match config.and_then(|config| config.frozen.as_ref()) {
        Some(UserFrozen::Manifest(manifest)) => Some(manifest.clone()),
        Some(UserFrozen::Listed { modules, packages, opt }) => {
            Some(frozen::listed_manifest(modules, packages, *opt, build_dir)?)
        }
        None => None,
    };
    let freeze_job = frozen::FreezeJob {
        source_root,
        port_dir: &port.dir,
        build_dir,
        manifest: &port.frozen_manifest(),
        mpy_cross: &mpy_cross,
    };
    let frozen_files = frozen::list(&freeze_job, user_manifest.as_deref())?;
    user_checks::check_syntax(&mpy_cross, &frozen_files, build_dir)?;

    // Before the qstr scan, which reads the port's C and so the glue's header.
    let mut glue = BTreeMap::new();
    for (name, artifact) in &port.artifacts {
        if let Some(world) = &artifact.wit_world {
            let generated = wit_glue::generate(&port.wit_dir(), world, &wit_glue::glue_dir(build_dir))
                .with_context(|| format!("generating the {name} module's WIT glue"))?;
            glue.insert(name.clone(), generated);
        }
    }

    genhdr::generate(&genhdr::HeaderJob {
        source_root,
        build_dir,
        compiler: &compiler,
        scanned_sources: &scanned,
        extra_qstr_defs: &[port.dir.join("qstrdefsport.h")],
        source_date_epoch,
    })?;
    if config.is_some() {
        let preprocessed = build_dir.join("qstr.i.last");
        let text = std::fs::read(&preprocessed).with_context(|| format!("reading {}", preprocessed.display()))?;
        let registered = user_checks::registered_modules(&String::from_utf8_lossy(&text));
        user_checks::check_names(&frozen_files, &registered, &c_modules.sources)?;
    }

    let frozen_c = frozen::freeze_with(&freeze_job, user_manifest.as_deref())?;
    sources.push(frozen_c.clone());

    let object_dir = build_dir.join("obj");
    let shared = units_for(&sources, source_root, &object_dir);
    // Regular objects beside LTO's: the port's, and the frozen data, whose
    // object the size attribution reads as wasm.
    let outside_lto: Vec<PathBuf> =
        port.link.outside_lto.iter().map(|name| port.dir.join(name)).chain([frozen_c.clone()]).collect();
    let (regular, whole_program): (Vec<Unit>, Vec<Unit>) =
        shared.iter().cloned().partition(|unit| outside_lto.contains(&unit.source));
    let mut stats = compiler.run(Mode::Object, &whole_program, &[], "compile")?;
    let regular_stats = compiler.run(Mode::Object, &regular, &["-fno-lto".into()], "compile")?;
    stats.rebuilt += regular_stats.rebuilt;
    stats.up_to_date += regular_stats.up_to_date;
    write_frozen_sizes(&frozen_files, build_dir, &frozen_c, &shared)?;

    let mut modules = BTreeMap::new();
    for (name, artifact) in &port.artifacts {
        let mut own_sources = port.artifact_sources(artifact);
        own_sources.extend(glue.get(name).map(|glue| glue.source.clone()));
        let own = units_for(&own_sources, source_root, &object_dir.join(name));
        let defines: Vec<OsString> = artifact.defines.iter().map(|define| format!("-D{define}").into()).collect();
        let own_stats = compiler.run(Mode::Object, &own, &defines, name)?;
        stats.rebuilt += own_stats.rebuilt;
        stats.up_to_date += own_stats.up_to_date;

        let mut objects: Vec<PathBuf> = shared.iter().chain(&own).map(|unit| unit.output.clone()).collect();
        objects.extend(glue.get(name).map(|glue| glue.type_object.clone()));
        let linked = build_dir.join("linked").join(&artifact.output);
        link::link(&compiler, &objects, &port.link, artifact, &linked)
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

/// Attributes the compiled frozen data to its modules (`frozen-sizes.json`).
fn write_frozen_sizes(files: &[frozen::FrozenFile], build_dir: &Path, frozen_c: &Path, units: &[Unit]) -> Result<()> {
    let object = &units.iter().find(|unit| unit.source == frozen_c).expect("frozen_content.c is compiled").output;
    let source = std::fs::read_to_string(frozen_c).with_context(|| format!("reading {}", frozen_c.display()))?;
    let object = std::fs::read(object).with_context(|| format!("reading {}", object.display()))?;
    FrozenSizes::measure(files, build_dir, &source, &object)?.write(build_dir)?;
    Ok(())
}

/// Where the port's patched copies of MicroPython files go in a build folder.
pub(crate) fn patched_root(build_dir: &Path) -> PathBuf {
    build_dir.join("patched")
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
    c_module_dirs: &[PathBuf],
) -> Result<Compiler> {
    let mut build = cc::Build::new();
    build
        .compiler(&toolchain.clang)
        .target("wasm32-wasi")
        .host(&mpy_cross::host_triple())
        .opt_level_str(profile.c_opt_level())
        .debug(profile == Profile::Debug)
        // Our setjmp.h must win over the sysroot's (which has none).
        .include(port.dir.join("include"));
    port_c_settings(&mut build, port, build_dir, source_root);
    build
        .flag(format!("--sysroot={}", toolchain.sysroot.display()))
        .flag("-mexception-handling")
        // memcpy/memset/memmove as single memory.copy/memory.fill
        // instructions instead of calls to wasi-libc's copy loops; every
        // host this project targets (wasmtime, Node 20, browsers) runs them.
        .flag("-mbulk-memory")
        .flag("-mllvm")
        .flag("-wasm-enable-sjlj")
        .flag(format!("-ffile-prefix-map={}=/micropython", source_root.display()))
        .flag(format!("-ffile-prefix-map={}=/micropython", patched_root(build_dir).display()))
        .flag(format!("-ffile-prefix-map={}=/mpwasm", project::repo_root().display()));
    if profile.links_whole_program() {
        build.flag("-flto");
    }
    // The user's module folders are on the include path, as USER_C_MODULES
    // puts them, and named by folder so their location leaves no trace.
    for dir in c_module_dirs {
        let name = dir.file_name().map_or_else(|| "module".into(), |name| name.to_string_lossy());
        build.include(dir).flag(format!("-ffile-prefix-map={}=/c_modules/{name}", dir.display()));
    }
    Compiler::from_cc(&build)
}

/// What every C build of the port shares, wasm or native: its include
/// path (variant first, so a variant's settings win), defines and dialect.
pub(crate) fn port_c_settings(build: &mut cc::Build, port: &Port, build_dir: &Path, source_root: &Path) {
    build
        .warnings(false)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .include(&port.variant_dir)
        .include(&port.dir)
        .include(build_dir)
        .include(source_root)
        .define("NDEBUG", None)
        // extmod/modvfs.c includes the FAT headers even with FAT disabled.
        .define("FFCONF_H", "\"lib/oofatfs/ffconf.h\"")
        .define("MPWASM_C_STACK_SIZE", port.link.stack_size.to_string().as_str())
        .flag("-std=gnu99")
        .flag("-fno-common");
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
