//! `micropython-wasm`: MicroPython in a wasmtime sandbox, with the command
//! line of `python` (see `args.rs`) and the exit statuses of CPython.

mod args;
mod isolate;
mod repl;

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use args::{Args, Command, Program};
use isolate::ScriptCopy;
use micropython_wasm::{Error, Sandbox, SandboxBuilder, MICROPYTHON_VERSION};

const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            say(args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            say(format_args!(
                "micropython-wasm {} (MicroPython {MICROPYTHON_VERSION}, wasmtime 48)",
                env!("CARGO_PKG_VERSION")
            ));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            complain(format_args!("{message}\n\n{}", args::USAGE));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let status = match run(args) {
        Ok(()) => 0,
        // The program printed its own traceback or message.
        Err(Failure::Sandbox(Error::Exit { code, .. })) => code,
        Err(Failure::Sandbox(error)) => {
            complain(&error);
            error.exit_code()
        }
        Err(Failure::Usage(message)) => {
            complain(message);
            EXIT_USAGE.into()
        }
    };
    // Exit statuses are 0 to 255 (the library reports SystemExit(n) as n
    // modulo 256): the fallback is never taken.
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

/// Prints a line on stdout. A reader that went away is no reason to fail
/// (or to panic, as `println!` does).
fn say(text: impl Display) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// Prints `micropython-wasm: MESSAGE` on stderr, whether or not anyone reads it.
fn complain(message: impl Display) {
    let _ = writeln!(std::io::stderr(), "micropython-wasm: {message}");
}

/// Why the program did not succeed.
enum Failure {
    /// The command line names something unusable (CPython's status 2).
    Usage(String),
    Sandbox(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Sandbox(error)
    }
}

fn run(args: Args) -> Result<(), Failure> {
    let mut builder = sandbox(&args)?;
    let mut command: Vec<String> = Vec::new();
    // The folder an isolated script runs from, deleted when the run is over.
    let mut script_copy = None;
    match &args.program {
        None if std::io::stdin().is_terminal() && args.wasm.is_none() => {
            return Ok(repl::run(builder.args([String::new()]).build()?)?);
        }
        // Not a terminal: the command module reads statements from stdin.
        None => {}
        Some(Program::Code(code)) => command.extend(["-c".to_owned(), code.clone()]),
        Some(Program::Module(module)) => {
            // As `python -m`, which finds modules in the current folder.
            if !args.isolated && !args.dirs.iter().any(|dir| dir.guest.as_deref() == Some("/")) {
                builder = builder.dir(".", "/");
            }
            command.extend(["-m".to_owned(), module.clone()]);
        }
        Some(Program::File(file)) => {
            let script = absolute(file)?;
            if script.is_dir() {
                return Err(Failure::Usage(format!("can't run '{}': it is a folder, not a script", file.display())));
            }
            // Canonical, and not a folder: the path has a parent.
            let folder = script.parent().unwrap_or(Path::new("/"));
            let granted = if args.isolated {
                let copy = ScriptCopy::new(&script)
                    .map_err(|err| Failure::Usage(format!("can't copy '{}' for --isolated: {err}", file.display())))?;
                script_copy.insert(copy).folder().to_path_buf()
            } else {
                folder.to_path_buf()
            };
            builder = builder.dir(granted, &guest_path(folder)?);
            command.push(guest_path(&script)?);
        }
        Some(Program::Stdin) => command.push("-".to_owned()),
    }
    command.extend(args.rest.iter().cloned());
    // As python: the program reads this process's stdin.
    Ok(builder.inherit_stdin().build()?.run_command(&command).map(drop)?)
}

/// The sandbox the options describe, streaming to this process's stdout.
fn sandbox(args: &Args) -> Result<SandboxBuilder, Failure> {
    let mut builder = Sandbox::builder().inherit_output();
    if let Some(memory) = args.memory {
        builder = builder.memory(memory);
    }
    if let Some(heap) = args.heap {
        builder = builder.heap(heap);
    }
    if let Some(fuel) = args.fuel {
        builder = builder.fuel(fuel);
    }
    if let Some(timeout) = args.timeout {
        builder = builder.timeout(timeout);
    }
    for dir in &args.dirs {
        let guest = match &dir.guest {
            Some(guest) => guest.clone(),
            None => guest_path(&absolute(&dir.host)?)?,
        };
        builder = if dir.writable { builder.dir_rw(&dir.host, &guest) } else { builder.dir(&dir.host, &guest) };
    }
    for (key, value) in &args.env {
        builder = builder.env(key, value);
    }
    if let Some(wasm) = &args.wasm {
        builder = builder.command_module(wasm);
    }
    if args.no_cache {
        builder = builder.no_cache();
    }
    Ok(builder)
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    std::fs::canonicalize(path).map_err(|err| Failure::Usage(format!("can't open '{}': {err}", path.display())))
}

/// `path` as the guest sees it, which must be text.
fn guest_path(path: &Path) -> Result<String, Failure> {
    path.to_str().map(str::to_owned).ok_or_else(|| {
        Failure::Usage(format!(
            "{} is not UTF-8: the sandbox shows folders at paths that are text; map it with --dir HOST:GUEST",
            path.display()
        ))
    })
}
