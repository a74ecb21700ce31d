//! The command line, read the way `python` reads its own: options first,
//! then the program, then the program's arguments (`sys.argv[1:]`).

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: micropython-wasm [OPTIONS] [-c CODE | -m MODULE | FILE | -] [ARG ...]

Runs MicroPython in a wasmtime sandbox. With no program, starts a REPL
(with line editing and history when stdin is a terminal).

  -c CODE                run CODE
  -m MODULE              run MODULE as __main__ (the current folder is
                         readable at / so that it can be found)
  FILE                   run the script FILE (its folder is readable, at its
                         own absolute path)
  -                      read the program from stdin

options:
  --memory BYTES         cap the module's memory, e.g. 64m (k, m, g: KiB, MiB, GiB)
  --heap BYTES           MicroPython's heap (default 8m, or what fits --memory)
  --fuel N               stop after N units of fuel (about one per wasm instruction)
  --timeout SECONDS      stop after this much wall-clock time, e.g. 2.5 or 500ms
  --dir HOST[:GUEST][:rw]
                         let the program see folder HOST at GUEST (default: the
                         same absolute path), read-only unless :rw
  --env KEY=VALUE        set an environment variable for the program
  --wasm FILE            run this WASI command module instead of the embedded one
  --no-cache             compile in memory; never read or write the code cache
  -h, --help             show this help
  -V, --version          show the versions

exit status: 0, 1 for an uncaught exception, n for SystemExit(n), 2 for bad
usage; 124 timeout, 152 fuel, 137 memory limit, 134 trap.";

/// What to run.
#[derive(Debug, PartialEq)]
pub enum Program {
    Code(String),
    Module(String),
    File(PathBuf),
    Stdin,
}

/// A `--dir` mapping.
#[derive(Debug, PartialEq)]
pub struct Dir {
    pub host: PathBuf,
    pub guest: Option<String>,
    pub writable: bool,
}

/// A parsed command line.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    pub memory: Option<u64>,
    pub heap: Option<u32>,
    pub fuel: Option<u64>,
    pub timeout: Option<Duration>,
    pub dirs: Vec<Dir>,
    pub env: Vec<(String, String)>,
    pub wasm: Option<PathBuf>,
    pub no_cache: bool,
    /// `None` starts a REPL.
    pub program: Option<Program>,
    /// The program's own arguments.
    pub rest: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Args),
    Help,
    Version,
}

/// Parses the arguments after the program name; `Err` is a usage error.
pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut args = Args::default();
    while let Some(arg) = argv.next() {
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline.clone().or_else(|| argv.next()).ok_or_else(|| format!("argument expected for the {name} option"))
        };
        match option.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--memory" => args.memory = Some(size(&value("--memory")?)?),
            "--heap" => {
                let heap = size(&value("--heap")?)?;
                args.heap = Some(u32::try_from(heap).map_err(|_| format!("--heap {heap} is over 4 GiB"))?);
            }
            "--fuel" => args.fuel = Some(number(&value("--fuel")?)?),
            "--timeout" => args.timeout = Some(duration(&value("--timeout")?)?),
            "--dir" => args.dirs.push(dir(&value("--dir")?)?),
            "--env" => {
                let pair = value("--env")?;
                let (key, val) =
                    pair.split_once('=').ok_or_else(|| format!("--env expects KEY=VALUE, not {pair:?}"))?;
                args.env.push((key.to_owned(), val.to_owned()));
            }
            "--wasm" => args.wasm = Some(PathBuf::from(value("--wasm")?)),
            "--no-cache" => args.no_cache = true,
            "-c" => {
                args.program = Some(Program::Code(value("-c")?));
                break;
            }
            "-m" => {
                args.program = Some(Program::Module(value("-m")?));
                break;
            }
            "-" => {
                args.program = Some(Program::Stdin);
                break;
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => {
                args.program = Some(Program::File(PathBuf::from(arg)));
                break;
            }
        }
    }
    args.rest = argv.collect();
    Ok(Command::Run(args))
}

/// `N`, `Nk`, `Nm` or `Ng` (binary units).
fn size(text: &str) -> Result<u64, String> {
    let lower = text.to_ascii_lowercase();
    let shift = match lower.chars().last() {
        Some('k') => 10,
        Some('m') => 20,
        Some('g') => 30,
        _ => 0,
    };
    let digits = if shift > 0 { &lower[..lower.len() - 1] } else { &lower };
    let n = number(digits).map_err(|_| format!("{text:?} is not a size like 512k or 64m"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{text} is too large"))
}

fn number(text: &str) -> Result<u64, String> {
    text.replace('_', "").parse().map_err(|_| format!("{text:?} is not a whole number"))
}

/// Seconds (`2`, `0.5`) or `500ms`.
fn duration(text: &str) -> Result<Duration, String> {
    let (number, scale) = match text.strip_suffix("ms") {
        Some(ms) => (ms, 1e-3),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    match number.parse::<f64>() {
        Ok(value) if value > 0.0 && value.is_finite() => Ok(Duration::from_secs_f64(value * scale)),
        _ => Err(format!("{text:?} is not a duration like 2.5 or 500ms")),
    }
}

fn dir(text: &str) -> Result<Dir, String> {
    let (spec, writable) = match text.strip_suffix(":rw") {
        Some(spec) => (spec, true),
        None => (text.strip_suffix(":ro").unwrap_or(text), false),
    };
    let (host, guest) = match spec.split_once(':') {
        Some((host, guest)) => (host, Some(guest.to_owned())),
        None => (spec, None),
    };
    if host.is_empty() || guest.as_deref().is_some_and(|guest| !guest.starts_with('/')) {
        return Err(format!("--dir expects HOST[:GUEST][:rw] with an absolute GUEST, not {text:?}"));
    }
    Ok(Dir { host: PathBuf::from(host), guest, writable })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(line: &[&str]) -> Result<Command, String> {
        parse(line.iter().map(|arg| arg.to_string()))
    }

    fn run(line: &[&str]) -> Args {
        match parse_args(line) {
            Ok(Command::Run(args)) => args,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn options_stop_at_the_program() {
        let args = run(&["--fuel", "1_000", "--memory=64m", "-c", "print(1)", "--fuel", "x"]);
        assert_eq!(args.fuel, Some(1000));
        assert_eq!(args.memory, Some(64 << 20));
        assert_eq!(args.program, Some(Program::Code("print(1)".into())));
        assert_eq!(args.rest, ["--fuel", "x"]);
        assert_eq!(run(&["script.py", "-c"]).program, Some(Program::File("script.py".into())));
        assert_eq!(run(&[]).program, None);
    }

    #[test]
    fn sizes_durations_and_dirs() {
        assert_eq!(size("512k"), Ok(512 << 10));
        assert_eq!(size("2G"), Ok(2 << 30));
        assert!(size("lots").is_err());
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2.5"), Ok(Duration::from_millis(2500)));
        assert!(duration("0").is_err());
        assert_eq!(dir("data:/data:rw"), Ok(Dir { host: "data".into(), guest: Some("/data".into()), writable: true }));
        assert_eq!(dir("/srv"), Ok(Dir { host: "/srv".into(), guest: None, writable: false }));
        assert!(dir("data:relative").is_err());
    }

    #[test]
    fn usage_errors() {
        assert!(parse_args(&["--frobnicate"]).is_err());
        assert!(parse_args(&["-c"]).is_err());
        assert!(parse_args(&["--env", "novalue"]).is_err());
        assert_eq!(parse_args(&["-h", "-c", "1"]), Ok(Command::Help));
    }
}
