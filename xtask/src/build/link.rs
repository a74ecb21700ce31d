//! Linking the objects into the command module with wasm-ld (through clang).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::compile::Compiler;
use super::port::{Artifact, ExecModel, LinkSection};

/// Links `objects` into `output` unless it is newer than every object and was
/// linked with the same command line.
pub fn link(
    compiler: &Compiler,
    objects: &[PathBuf],
    settings: &LinkSection,
    artifact: &Artifact,
    output: &Path,
) -> Result<()> {
    let temp = output.with_extension("wasm.tmp");
    let mut args: Vec<OsString> = compiler.args.clone();
    args.extend(objects.iter().map(|object| object.clone().into_os_string()));
    // Stack first: an overflowing shadow stack runs off the bottom of memory
    // and traps instead of silently overwriting static data.
    args.push("-Wl,--stack-first".into());
    args.push(format!("-Wl,-z,stack-size={}", settings.stack_size).into());
    args.extend(settings.wrap_flags(&artifact.wrap));
    if artifact.exec_model == ExecModel::Reactor {
        args.push("-mexec-model=reactor".into());
    }
    args.push("-lm".into());
    // With LTO, code generation, and so clang's lowering of setjmp/longjmp
    // to wasm exceptions, runs in the linker.
    args.push("-Wl,-mllvm,-wasm-enable-sjlj".into());
    // clang runs any `wasm-opt` it finds on PATH after linking (Debian's
    // binaryen package puts an old one there), which would make the output
    // depend on the machine and strip the names the symbol map needs;
    // Binaryen runs later, pinned, through the wasm-opt crate. clang-19's
    // --no-wasm-opt drops the link step altogether, so the link runs with an
    // empty PATH instead, naming wasm-ld (which lives beside clang) itself.
    let wasm_ld = compiler.program.with_file_name("wasm-ld");
    args.push(format!("-fuse-ld={}", wasm_ld.display()).into());
    args.push("-o".into());

    let record_path = output.with_extension("wasm.cmd");
    let record = args.iter().map(|arg| arg.to_string_lossy()).collect::<Vec<_>>().join(" ");
    if is_current(output, objects, &record_path, &record) {
        return Ok(());
    }
    if let Some(parent) = output.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let result = Command::new(&compiler.program)
        .env("PATH", "")
        .args(&args)
        .arg(&temp)
        .output()
        .context("running the linker")?;
    if !result.status.success() {
        let _ = fs::remove_file(&temp);
        bail!("linking {} failed:\n{}", output.display(), String::from_utf8_lossy(&result.stderr));
    }
    fs::write(&record_path, &record)?;
    fs::rename(&temp, output).with_context(|| format!("moving the linked module to {}", output.display()))
}

fn is_current(output: &Path, objects: &[PathBuf], record_path: &Path, record: &str) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    let Some(linked) = modified(output) else { return false };
    fs::read_to_string(record_path).is_ok_and(|old| old == record)
        && objects.iter().all(|object| modified(object).is_some_and(|time| time <= linked))
}
