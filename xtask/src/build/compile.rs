//! Incremental, parallel C compilation.
//!
//! `cc` knows how to drive each compiler for each target; this module adds
//! what `cc::Build::compile` lacks for a 150-file C project: per-object
//! staleness (depfiles plus the exact command line), parallel jobs with one
//! progress bar, and atomic outputs so an interrupted build never leaves an
//! object that looks complete.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};

/// One C file and the artifact made from it.
#[derive(Debug, Clone)]
pub struct Unit {
    pub source: PathBuf,
    pub output: PathBuf,
}

/// What to make of each unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-c`: an object file.
    Object,
    /// `-E`: preprocessed text, for qstr and module extraction.
    Preprocess,
}

/// A compiler command line without its input and output.
#[derive(Debug, Clone)]
pub struct Compiler {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// How many units were rebuilt and how many were already current.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub rebuilt: usize,
    pub up_to_date: usize,
}

impl Compiler {
    /// Links host objects into `executable` (with libm and `link_flags`), unless it exists and
    /// none of `units` was just rebuilt; `what` names it in errors.
    pub fn link_host_executable(
        &self,
        units: &[Unit],
        rebuilt: bool,
        executable: &Path,
        what: &str,
        link_flags: &[OsString],
    ) -> Result<()> {
        if !rebuilt && executable.exists() {
            return Ok(());
        }
        let temp = executable.with_extension("tmp");
        let output = Command::new(&self.program)
            .args(units.iter().map(|unit| &unit.output))
            .arg("-o")
            .arg(&temp)
            .arg("-lm")
            .args(link_flags)
            .output()
            .with_context(|| format!("linking {what}"))?;
        if !output.status.success() {
            bail!("linking {what} failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        fs::rename(&temp, executable).with_context(|| format!("moving {what} to {}", executable.display()))
    }

    /// Takes the compiler and flags that `cc` chose for `build`.
    pub fn from_cc(build: &cc::Build) -> Result<Compiler> {
        let tool = build.try_get_compiler().context("cc could not configure the C compiler")?;
        let command = tool.to_command();
        Ok(Compiler {
            program: PathBuf::from(command.get_program()),
            args: command.get_args().map(OsString::from).collect(),
        })
    }

    fn command_line(&self, mode: Mode, extra: &[OsString]) -> Vec<OsString> {
        let mut args = self.args.clone();
        args.extend(extra.iter().cloned());
        args.push(match mode {
            Mode::Object => "-c".into(),
            Mode::Preprocess => "-E".into(),
        });
        args
    }

    /// Builds every unit whose output is missing or older than any of its
    /// inputs, or whose command line changed, using `jobs` processes.
    pub fn run(&self, mode: Mode, units: &[Unit], extra: &[OsString], label: &str) -> Result<Stats> {
        let base_args = self.command_line(mode, extra);
        let fingerprint = fingerprint(&self.program, &base_args);
        let stale: Vec<&Unit> = units.iter().filter(|unit| is_stale(unit, &fingerprint)).collect();
        let stats = Stats { rebuilt: stale.len(), up_to_date: units.len() - stale.len() };
        if stale.is_empty() {
            return Ok(stats);
        }

        let progress = crate::progress::bar(stale.len() as u64, label);
        let next = AtomicUsize::new(0);
        let failures = Mutex::new(Vec::<String>::new());
        let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        std::thread::scope(|scope| {
            for _ in 0..jobs.min(stale.len()) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = stale.get(index) else { break };
                    if let Err(err) = self.build_one(unit, &base_args, &fingerprint) {
                        failures.lock().expect("no panics while holding the lock").push(format!("{err:#}"));
                    }
                    progress.inc(1);
                });
            }
        });
        progress.finish_and_clear();

        let failures = failures.into_inner().expect("threads joined");
        if !failures.is_empty() {
            bail!("{} of {} files failed to compile:\n{}", failures.len(), stale.len(), failures.join("\n"));
        }
        Ok(stats)
    }

    fn build_one(&self, unit: &Unit, base_args: &[OsString], fingerprint: &str) -> Result<()> {
        let parent = unit.output.parent().expect("outputs live in a build folder");
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let temp_output = with_suffix(&unit.output, ".tmp");
        let temp_depfile = with_suffix(&unit.output, ".d.tmp");
        let output = Command::new(&self.program)
            .args(base_args)
            .arg("-MD")
            .arg("-MF")
            .arg(&temp_depfile)
            .arg("-MT")
            .arg("out")
            .arg(&unit.source)
            .arg("-o")
            .arg(&temp_output)
            .output()
            .with_context(|| format!("running {}", self.program.display()))?;
        if !output.status.success() {
            let _ = fs::remove_file(&temp_output);
            let _ = fs::remove_file(&temp_depfile);
            return Err(anyhow!("{}:\n{}", unit.source.display(), String::from_utf8_lossy(&output.stderr).trim_end()));
        }
        if !output.stderr.is_empty() && std::env::var_os("MPWASM_VERBOSE").is_some() {
            eprintln!("{}", String::from_utf8_lossy(&output.stderr).trim_end());
        }
        // The command line is written before the output is renamed into
        // place: an output is only ever trusted next to a matching record.
        fs::write(with_suffix(&unit.output, ".cmd"), fingerprint)?;
        fs::rename(&temp_depfile, with_suffix(&unit.output, ".d"))?;
        fs::rename(&temp_output, &unit.output)?;
        Ok(())
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn fingerprint(program: &Path, args: &[OsString]) -> String {
    let mut line = program.display().to_string();
    for arg in args {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|meta| meta.modified()).ok()
}

fn is_stale(unit: &Unit, fingerprint: &str) -> bool {
    let Some(built) = modified(&unit.output) else { return true };
    match fs::read_to_string(with_suffix(&unit.output, ".cmd")) {
        Ok(recorded) if recorded == fingerprint => {}
        _ => return true,
    }
    let Ok(depfile) = fs::read_to_string(with_suffix(&unit.output, ".d")) else { return true };
    depfile_inputs(&depfile).iter().any(|input| modified(Path::new(input)).is_none_or(|time| time > built))
}

/// The prerequisites listed in a make-style depfile (`out: a.c b.h \ ...`).
fn depfile_inputs(depfile: &str) -> Vec<String> {
    let joined = depfile.replace("\\\n", " ");
    let Some((_, prerequisites)) = joined.split_once(':') else { return Vec::new() };
    let mut inputs = Vec::new();
    let mut current = String::new();
    let mut chars = prerequisites.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Make escapes spaces in file names with a backslash.
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    inputs.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        inputs.push(current);
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depfile_parsing_handles_continuations_and_escaped_spaces() {
        let depfile = "out: /src/a.c \\\n  /inc/b.h /inc/with\\ space.h\n";
        assert_eq!(depfile_inputs(depfile), vec!["/src/a.c", "/inc/b.h", "/inc/with space.h"]);
    }

    #[test]
    fn changed_input_or_command_line_makes_a_unit_stale() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.c");
        let output = dir.path().join("a.o");
        fs::write(&source, "int a;").unwrap();
        let unit = Unit { source: source.clone(), output: output.clone() };
        assert!(is_stale(&unit, "cc -O2"), "missing output must be stale");

        fs::write(&output, "obj").unwrap();
        fs::write(with_suffix(&output, ".cmd"), "cc -O2").unwrap();
        fs::write(with_suffix(&output, ".d"), format!("out: {}\n", source.display())).unwrap();
        assert!(!is_stale(&unit, "cc -O2"));
        assert!(is_stale(&unit, "cc -O3"), "a new command line must rebuild");

        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        fs::File::options().write(true).open(&source).unwrap().set_modified(later).unwrap();
        assert!(is_stale(&unit, "cc -O2"), "a newer input must rebuild");
    }
}
