//! `micropython-wasm`: MicroPython in a wasmtime sandbox, with the command
//! line of `python` (see `args.rs`) and the exit statuses of CPython.

mod args;
mod repl;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use args::{Args, Command, Program};
use micropython_wasm::{Error, Sandbox, SandboxBuilder, MICROPYTHON_VERSION};

const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("micropython-wasm {} (MicroPython {MICROPYTHON_VERSION}, wasmtime 48)", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("micropython-wasm: {message}\n\n{}", args::USAGE);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let status = match run(args) {
        Ok(()) => 0,
        // The program printed its own traceback or message.
        Err(Failure::Sandbox(Error::Exit { code, .. })) => code,
        Err(Failure::Sandbox(error)) => {
            eprintln!("micropython-wasm: {error}");
            error.exit_code()
        }
        Err(Failure::Usage(message)) => {
            eprintln!("micropython-wasm: {message}");
            EXIT_USAGE.into()
        }
    };
    ExitCode::from(u8::try_from(status).unwrap_or(1))
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
    match &args.program {
        None if std::io::stdin().is_terminal() && args.wasm.is_none() => {
            return Ok(repl::run(builder.args([String::new()]).build()?)?);
        }
        // Not a terminal: the command module reads statements from stdin.
        None => builder = builder.inherit_stdin(),
        Some(Program::Code(code)) => command.extend(["-c".to_owned(), code.clone()]),
        Some(Program::Module(module)) => {
            // As `python -m`, which finds modules in the current folder.
            if !args.dirs.iter().any(|dir| dir.guest.as_deref() == Some("/")) {
                builder = builder.dir(".", "/");
            }
            command.extend(["-m".to_owned(), module.clone()]);
        }
        Some(Program::File(file)) => {
            let script = absolute(file)?;
            let folder = script.parent().expect("an absolute file path has a parent");
            builder = builder.dir(folder, &guest_path(folder)?);
            command.push(guest_path(&script)?);
        }
        Some(Program::Stdin) => {
            builder = builder.inherit_stdin();
            command.push("-".to_owned());
        }
    }
    command.extend(args.rest.iter().cloned());
    Ok(builder.build()?.run_command(&command).map(drop)?)
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

fn guest_path(path: &Path) -> Result<String, Failure> {
    path.to_str().map(str::to_owned).ok_or_else(|| Failure::Usage(format!("{} is not UTF-8", path.display())))
}
