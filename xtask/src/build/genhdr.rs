//! MicroPython's generated headers (`genhdr/`), made by its own Python
//! generators exactly as its Makefiles chain them:
//! version → preprocess sources → split/cat qstrs, modules, root pointers →
//! qstrdefs.generated.h, moduledefs.h, root_pointers.h.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::compile::{Compiler, Mode, Unit};

/// Inputs of the header generation for one build.
pub struct HeaderJob<'a> {
    pub source_root: &'a Path,
    /// Folder that receives `genhdr/` (and is on the include path).
    pub build_dir: &'a Path,
    pub compiler: &'a Compiler,
    /// Files scanned for Q(), MP_REGISTER_MODULE and MP_REGISTER_ROOT_POINTER.
    pub scanned_sources: &'a [PathBuf],
    /// Extra qstr definition files (the port's qstrdefsport.h).
    pub extra_qstr_defs: &'a [PathBuf],
    /// Value for SOURCE_DATE_EPOCH, so the build date is reproducible.
    pub source_date_epoch: u64,
}

/// Brings `genhdr/` up to date; regenerates only when a scanned source (or a
/// header it includes) changed. Returns the path of the genhdr folder.
pub fn generate(job: &HeaderJob) -> Result<PathBuf> {
    let genhdr = job.build_dir.join("genhdr");
    fs::create_dir_all(&genhdr).with_context(|| format!("creating {}", genhdr.display()))?;
    let py = job.source_root.join("py");

    run_python(
        job.source_root,
        &[py.join("makeversionhdr.py").into_os_string(), genhdr.join("mpversion.h").into_os_string()],
        &[("SOURCE_DATE_EPOCH", job.source_date_epoch.to_string())],
    )
    .context("generating mpversion.h")?;

    let scan_dir = job.build_dir.join("qstr-scan");
    let units: Vec<Unit> = job
        .scanned_sources
        .iter()
        .map(|source| Unit { source: source.clone(), output: scan_dir.join(object_name(job.source_root, source, "i")) })
        .collect();
    let stats = job.compiler.run(Mode::Preprocess, &units, &["-DNO_QSTR".into()], "qstr scan")?;
    let outputs = ["qstrdefs.generated.h", "qstrdefs.preprocessed.h", "moduledefs.h", "root_pointers.h"];
    if stats.rebuilt == 0 && outputs.iter().all(|name| genhdr.join(name).exists()) {
        return Ok(genhdr);
    }

    // makeqstrdefs.py splits one concatenated preprocessor output by its
    // `# line "file"` markers, as the Makefile's qstr.i.last.
    let combined = job.build_dir.join("qstr.i.last");
    let mut text = Vec::new();
    for unit in &units {
        text.extend(fs::read(&unit.output).with_context(|| format!("reading {}", unit.output.display()))?);
    }
    fs::write(&combined, text)?;

    let makeqstrdefs = py.join("makeqstrdefs.py").into_os_string();
    for (mode, collected) in [
        ("qstr", "qstrdefs.collected.h"),
        ("module", "moduledefs.collected"),
        ("root_pointer", "root_pointers.collected"),
    ] {
        let split_dir = genhdr.join(mode);
        // Stale per-file fragments from a previous source list must not leak in.
        let _ = fs::remove_dir_all(&split_dir);
        run_python(
            job.source_root,
            &[
                makeqstrdefs.clone(),
                "split".into(),
                mode.into(),
                combined.clone().into(),
                split_dir.clone().into(),
                "_".into(),
            ],
            &[],
        )
        .with_context(|| format!("splitting {mode} definitions"))?;
        run_python(
            job.source_root,
            &[
                makeqstrdefs.clone(),
                "cat".into(),
                mode.into(),
                "_".into(),
                split_dir.into(),
                genhdr.join(collected).into(),
            ],
            &[],
        )
        .with_context(|| format!("collecting {mode} definitions"))?;
    }

    let preprocessed = preprocess_qstr_defs(job, &genhdr)?;
    write_if_changed(&genhdr.join("qstrdefs.preprocessed.h"), preprocessed.as_bytes())?;
    let generated = python_output(
        job.source_root,
        &[py.join("makeqstrdata.py").into(), genhdr.join("qstrdefs.preprocessed.h").into()],
    )
    .context("generating qstrdefs.generated.h")?;
    write_if_changed(&genhdr.join("qstrdefs.generated.h"), &generated)?;
    let moduledefs = python_output(
        job.source_root,
        &[py.join("makemoduledefs.py").into(), genhdr.join("moduledefs.collected").into()],
    )
    .context("generating moduledefs.h")?;
    write_if_changed(&genhdr.join("moduledefs.h"), &moduledefs)?;
    let root_pointers = python_output(
        job.source_root,
        &[py.join("make_root_pointers.py").into(), genhdr.join("root_pointers.collected").into()],
    )
    .context("generating root_pointers.h")?;
    write_if_changed(&genhdr.join("root_pointers.h"), &root_pointers)?;
    Ok(genhdr)
}

/// The Makefile's `cat qstrdefs… | sed | $(CPP) | sed` step: Q() lines are
/// quoted so the preprocessor keeps them verbatim while `#if` blocks in the
/// definition files are still resolved against the port's configuration.
fn preprocess_qstr_defs(job: &HeaderJob, genhdr: &Path) -> Result<String> {
    let mut input = String::new();
    let mut files = vec![job.source_root.join("py/qstrdefs.h")];
    files.extend(job.extra_qstr_defs.iter().cloned());
    files.push(genhdr.join("qstrdefs.collected.h"));
    for file in &files {
        let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for line in text.lines() {
            if line.starts_with("Q(") {
                input.push('"');
                input.push_str(line);
                input.push('"');
            } else {
                input.push_str(line);
            }
            input.push('\n');
        }
    }
    let mut child = Command::new(&job.compiler.program)
        .args(&job.compiler.args)
        .args(["-E", "-P", "-x", "c", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running the preprocessor on the qstr definitions")?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    writer.join().expect("writer thread does not panic")?;
    if !output.status.success() {
        bail!("preprocessing the qstr definitions failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    let text = String::from_utf8(output.stdout).context("preprocessor output is not UTF-8")?;
    Ok(text
        .lines()
        .map(|line| match line.strip_prefix("\"Q(").and_then(|rest| rest.strip_suffix('"')) {
            Some(inner) => format!("Q({inner}"),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n")
}

/// Name of an artifact for `source`: its path below the MicroPython tree,
/// `port/FILE` for the port's files, `ext-HASH/FILE` for any other file (a
/// user's C module, generated C; HASH names its folder, so a user's
/// `main.c` and the port's stay apart), with `/` flattened, so names are
/// unique and independent of where the tree lives.
pub fn object_name(source_root: &Path, source: &Path, extension: &str) -> String {
    let file = source.file_name().expect("sources are files");
    let relative = source.strip_prefix(source_root).map(Path::to_path_buf).unwrap_or_else(|_| {
        let folder = source.parent().unwrap_or(Path::new(""));
        if folder == crate::project::repo_root().join("ports/wasm") {
            PathBuf::from("port").join(file)
        } else {
            let digest = Sha256::digest(folder.to_string_lossy().as_bytes());
            PathBuf::from(format!("ext-{}", &hex::encode(digest)[..8])).join(file)
        }
    });
    let flat = relative.to_string_lossy().replace(['/', '\\'], "__");
    format!("{}.{extension}", flat.trim_end_matches(".c"))
}

fn run_python(cwd: &Path, args: &[OsString], env: &[(&str, String)]) -> Result<()> {
    let output = python_command(cwd, args, env).output().context("running python3")?;
    if !output.status.success() {
        bail!("python3 {:?} failed:\n{}", args, String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn python_output(cwd: &Path, args: &[OsString]) -> Result<Vec<u8>> {
    let output = python_command(cwd, args, &[]).output().context("running python3")?;
    if !output.status.success() {
        bail!("python3 {:?} failed:\n{}", args, String::from_utf8_lossy(&output.stderr));
    }
    Ok(output.stdout)
}

fn python_command(cwd: &Path, args: &[OsString], env: &[(&str, String)]) -> Command {
    let mut command = Command::new("python3");
    command.current_dir(cwd).args(args).stdin(Stdio::null());
    // A git checkout above the cache would otherwise leak its tag into the
    // version string of an archive build.
    command.env("GIT_CEILING_DIRECTORIES", cwd.parent().unwrap_or(cwd));
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Writes `contents` unless the file already holds them, so objects that
/// include a regenerated but identical header are not rebuilt.
pub fn write_if_changed(path: &Path, contents: &[u8]) -> Result<()> {
    if fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    let temp = path.with_extension("tmp");
    fs::write(&temp, contents).with_context(|| format!("writing {}", temp.display()))?;
    fs::rename(&temp, path).with_context(|| format!("replacing {}", path.display()))
}
