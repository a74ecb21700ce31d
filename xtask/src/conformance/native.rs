//! The conformance reference: the same MicroPython sources and the same port,
//! compiled by the host's C compiler into a native executable. Its feature
//! set is exactly the wasm build's, so a test that passes here and fails in
//! wasm points at the wasm build itself (its GC roots, stack, longjmp).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::build::compile::{Compiler, Mode, Unit};
use crate::build::port::Port;
use crate::build::{frozen, genhdr, mpy_cross, port_c_settings, source_date_epoch, source_key};
use crate::fetch::SourceTree;
use crate::project;

/// Port files that only make sense in wasm: shadow-stack root scanning, the
/// setjmp/longjmp runtime (natively, libc's setjmp serves NLR) and the
/// allocator that replaces wasi-libc's.
const WASM_ONLY_PORT_FILES: &[&str] = &["gccollect.c", "sjlj_runtime.c", "malloc.c"];

/// Builds (or brings up to date) the native executable of `variant` and
/// returns its path. Objects are cached per source tree and checkout, so a
/// fresh clone in the same place recompiles only the port's own files.
pub fn build(source: &SourceTree, variant: &str) -> Result<PathBuf> {
    let source_root = &source.root;
    let port = Port::load(&project::repo_root().join("ports/wasm"), variant)?;
    let key = source_key(source);
    let build_dir = project::cache_root().join("native").join(format!("{key}-{}", checkout_key())).join(variant);
    let _lock = crate::dirlock::lock(&build_dir)?;
    let epoch = source_date_epoch(source_root);
    let compiler = native_compiler(source_root, &port, &build_dir)?;

    let command = port.artifacts.get("command").context("port.toml defines no `command` artifact")?;
    let mut sources = port.micropython_sources(source_root, &crate::build::patched_root(&build_dir))?;
    sources.extend(port.port_sources().into_iter().filter(|path| {
        !path.file_name().is_some_and(|name| WASM_ONLY_PORT_FILES.iter().any(|wasm_only| name == *wasm_only))
    }));
    sources.extend(port.artifact_sources(command));
    sources.push(project::repo_root().join("xtask/src/conformance/native/gccollect.c"));
    sources.push(source_root.join("shared/runtime/gchelper_generic.c"));

    let scanned: Vec<PathBuf> = sources.iter().filter(|path| !mpy_cross::is_nlr(path)).cloned().collect();
    genhdr::generate(&genhdr::HeaderJob {
        source_root,
        build_dir: &build_dir,
        compiler: &compiler,
        scanned_sources: &scanned,
        extra_qstr_defs: &[port.dir.join("qstrdefsport.h")],
        source_date_epoch: epoch,
    })
    .context("generating the native build's headers")?;

    let mpy_cross_dir = project::cache_root().join("mpy-cross").join(&key);
    let mpy_cross = mpy_cross::ensure(source_root, &mpy_cross_dir, epoch).context("building mpy-cross")?;
    sources.push(frozen::freeze(&frozen::FreezeJob {
        source_root,
        port_dir: &port.dir,
        build_dir: &build_dir,
        manifest: &port.frozen_manifest(),
        mpy_cross: &mpy_cross,
    })?);

    let units: Vec<Unit> = sources
        .iter()
        .map(|source| Unit {
            source: source.clone(),
            output: build_dir.join("obj").join(genhdr::object_name(source_root, source, "o")),
        })
        .collect();
    let defines: Vec<std::ffi::OsString> = command.defines.iter().map(|define| format!("-D{define}").into()).collect();
    let stats = compiler.run(Mode::Object, &units, &defines, "native")?;

    let executable = build_dir.join("micropython");
    compiler.link_host_executable(
        &units,
        stats.rebuilt > 0,
        &executable,
        "the native executable",
        &port.link.wrap_flags(&[]),
    )?;
    Ok(executable)
}

/// The host C compiler as `cc` configures it, with the defines the wasm build
/// gives the port, but the host's own headers (no wasm setjmp.h or statvfs.h).
fn native_compiler(source_root: &Path, port: &Port, build_dir: &Path) -> Result<Compiler> {
    let host = mpy_cross::host_triple();
    let mut build = cc::Build::new();
    build
        .target(&host)
        .host(&host)
        .opt_level_str("2")
        .debug(false)
        // As upstream's unix port: frozen code (and so this build) uses the
        // 16-bit bignum digits of a 32-bit target, as wasm32 does.
        .define("MPZ_DIG_SIZE", "16");
    port_c_settings(&mut build, port, build_dir, source_root);
    Compiler::from_cc(&build)
}

/// The port's files live in the checkout: two checkouts on one machine must
/// not share (and keep rebuilding) one set of objects.
fn checkout_key() -> String {
    hex::encode(Sha256::digest(project::repo_root().to_string_lossy().as_bytes()))[..8].to_owned()
}
