//! mpy-cross, MicroPython's bytecode compiler, built natively from the same
//! pinned sources so frozen modules match the firmware's bytecode version.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::compile::{Compiler, Mode, Unit};
use super::genhdr::{self, object_name, HeaderJob};

/// Builds (or reuses) mpy-cross for the tree at `source_root` inside
/// `build_dir` and returns the executable's path.
pub fn ensure(source_root: &Path, build_dir: &Path, source_date_epoch: u64) -> Result<PathBuf> {
    let _lock = crate::dirlock::lock(build_dir)?;
    let host = host_triple();
    let mpy_cross_dir = source_root.join("mpy-cross");
    let mut build = cc::Build::new();
    build
        .target(&host)
        .host(&host)
        .opt_level_str("s")
        .debug(false)
        .warnings(false)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .include(&mpy_cross_dir)
        .include(build_dir)
        .include(source_root)
        .flag("-std=gnu99")
        .flag("-fdata-sections")
        .flag("-ffunction-sections");
    let compiler = Compiler::from_cc(&build)?;

    let mut sources: Vec<PathBuf> = std::fs::read_dir(source_root.join("py"))
        .context("listing py/")?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    sources.extend([mpy_cross_dir.join("main.c"), mpy_cross_dir.join("gccollect.c")]);
    sources.push(source_root.join("shared/runtime/gchelper_generic.c"));
    sources.sort();

    let scanned: Vec<PathBuf> = sources.iter().filter(|path| !is_nlr(path)).cloned().collect();
    genhdr::generate(&HeaderJob {
        source_root,
        build_dir,
        compiler: &compiler,
        scanned_sources: &scanned,
        extra_qstr_defs: &[mpy_cross_dir.join("qstrdefsport.h")],
        source_date_epoch,
    })
    .context("generating mpy-cross headers")?;

    let object_dir = build_dir.join("obj");
    let units: Vec<Unit> = sources
        .iter()
        .map(|source| Unit { source: source.clone(), output: object_dir.join(object_name(source_root, source, "o")) })
        .collect();
    let stats = compiler.run(Mode::Object, &units, &[], "mpy-cross")?;

    let executable = build_dir.join("mpy-cross");
    compiler.link_host_executable(&units, stats.rebuilt > 0, &executable, "mpy-cross", &[])?;
    Ok(executable)
}

/// The NLR implementations are skipped by the qstr scan, as upstream does:
/// they hold only inline assembly.
pub fn is_nlr(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("nlr"))
        && path.parent().is_some_and(|dir| dir.ends_with("py"))
}

/// The triple of the machine running xtask, as rustc names it.
pub fn host_triple() -> String {
    let output = Command::new("rustc").arg("-vV").output().ok();
    output
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.lines().find_map(|line| line.strip_prefix("host: ").map(str::to_owned)))
        .unwrap_or_else(|| format!("{}-unknown-linux-gnu", std::env::consts::ARCH))
}
