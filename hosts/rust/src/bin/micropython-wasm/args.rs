//! The command line, read the way `python` reads its own: options first,
//! then the program, then the program's arguments (`sys.argv[1:]`).
//!
//! Arguments are read as the operating system gives them: folders and files
//! may have any name the system allows, while whatever reaches the guest as
//! text (code, module names, arguments, environment values, guest paths)
//! must be UTF-8, and is a usage error otherwise.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: micropython-wasm [OPTIONS] [-c CODE | -m MODULE | FILE | -] [ARG ...]

Runs MicroPython in a wasmtime sandbox. With no program, starts a REPL
(with line editing and history when stdin is a terminal).

  -c CODE                run CODE
  -m MODULE              run MODULE as __main__
  FILE                   run the script FILE
  -                      read the program from stdin

what the program can read: only folders granted to it. FILE grants its own
folder, and everything below it, read-only at the folder's absolute path,
so that the script can import its neighbours; -m grants the current folder,
read-only, at /. --isolated grants neither. -c, - and the REPL grant
nothing. --dir grants more. The program reads this process's stdin (the
REPL excepted) and sees no environment variable unless given with --env.

options:
  --memory BYTES         cap everything the module can grow (memory, tables),
                         e.g. 64m (k, m, g: KiB, MiB, GiB)
  --heap BYTES           MicroPython's heap (default 8m, or what fits --memory)
  --fuel N               stop after N units of fuel (about one per wasm
                         instruction, start-up included)
  --timeout SECONDS      stop after this much wall-clock time, e.g. 2.5 or
                         500ms, sleeps and waits for stdin included
  --dir HOST[:GUEST][:rw]
                         let the program see folder HOST at GUEST (default: the
                         same absolute path), read-only unless :rw
  --isolated             grant no folder unasked: FILE sees only a copy of
                         itself, -m only the --dir folders
  --env KEY=VALUE        set an environment variable for the program
  --wasm FILE            run this WASI command module instead of the embedded one
  --no-cache             compile in memory; never read or write the code cache
  -h, --help             show this help
  -V, --version          show the versions

exit status: 0, 1 for an uncaught exception, n modulo 256 for SystemExit(n),
2 for bad usage; 124 timeout, 152 fuel, 137 memory limit, 153 output limit,
134 trap.";

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
    pub isolated: bool,
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
pub fn parse(mut argv: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let mut args = Args::default();
    while let Some(arg) = argv.next() {
        let (option, inline) = match split_once(&arg, b'=') {
            Some((option, value)) if option.as_encoded_bytes().starts_with(b"--") => {
                (option.to_os_string(), Some(value.to_os_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline.clone().or_else(|| argv.next()).ok_or_else(|| format!("argument expected for the {name} option"))
        };
        match option.to_str().unwrap_or_default() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--memory" => args.memory = Some(size(&text(value("--memory")?, "--memory")?)?),
            "--heap" => {
                let heap = size(&text(value("--heap")?, "--heap")?)?;
                args.heap = Some(u32::try_from(heap).map_err(|_| format!("--heap {heap} is over 4 GiB"))?);
            }
            "--fuel" => args.fuel = Some(number(&text(value("--fuel")?, "--fuel")?)?),
            "--timeout" => args.timeout = Some(duration(&text(value("--timeout")?, "--timeout")?)?),
            "--dir" => args.dirs.push(dir(&value("--dir")?)?),
            "--isolated" => args.isolated = true,
            "--env" => {
                let pair = text(value("--env")?, "--env")?;
                let (key, val) =
                    pair.split_once('=').ok_or_else(|| format!("--env expects KEY=VALUE, not {pair:?}"))?;
                args.env.push((key.to_owned(), val.to_owned()));
            }
            "--wasm" => args.wasm = Some(PathBuf::from(value("--wasm")?)),
            "--no-cache" => args.no_cache = true,
            "-c" => {
                args.program = Some(Program::Code(text(value("-c")?, "-c")?));
                break;
            }
            "-m" => {
                args.program = Some(Program::Module(text(value("-m")?, "-m")?));
                break;
            }
            "-" => {
                args.program = Some(Program::Stdin);
                break;
            }
            _ if arg.as_encoded_bytes().starts_with(b"-") => return Err(format!("unknown option {}", arg.display())),
            _ => {
                args.program = Some(Program::File(PathBuf::from(arg)));
                break;
            }
        }
    }
    args.rest = argv
        .map(|arg| arg.into_string().map_err(|arg| format!("the program's arguments are text (UTF-8), unlike {arg:?}")))
        .collect::<Result<_, _>>()?;
    Ok(Command::Run(args))
}

/// The value of `option` as text.
fn text(value: OsString, option: &str) -> Result<String, String> {
    value.into_string().map_err(|value| format!("{option} takes text (UTF-8), not {value:?}"))
}

/// `text` split around the first `separator`, an ASCII character.
fn split_once(text: &OsStr, separator: u8) -> Option<(&OsStr, &OsStr)> {
    let bytes = text.as_encoded_bytes();
    let at = bytes.iter().position(|&byte| byte == separator)?;
    // SAFETY: both parts come from one OsStr's encoded bytes, cut right
    // before and right after an ASCII character: a valid non-empty UTF-8
    // substring, as `from_encoded_bytes_unchecked` requires.
    unsafe {
        Some((OsStr::from_encoded_bytes_unchecked(&bytes[..at]), OsStr::from_encoded_bytes_unchecked(&bytes[at + 1..])))
    }
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
        Ok(value) if value > 0.0 => Duration::try_from_secs_f64(value * scale)
            .map_err(|_| format!("--timeout {text} is longer than a clock can count ({} s)", Duration::MAX.as_secs())),
        _ => Err(format!("{text:?} is not a duration like 2.5 or 500ms")),
    }
}

/// `HOST[:GUEST][:rw]`, where HOST is any path and GUEST is text.
fn dir(text: &OsStr) -> Result<Dir, String> {
    let (spec, writable) = match strip_suffix(text, ":rw") {
        Some(spec) => (spec, true),
        None => (strip_suffix(text, ":ro").unwrap_or(text), false),
    };
    let (host, guest) = match split_once(spec, b':') {
        Some((host, guest)) => {
            let guest = guest.to_str().ok_or_else(|| format!("--dir GUEST paths are text (UTF-8), not {guest:?}"))?;
            (host, Some(guest.to_owned()))
        }
        None => (spec, None),
    };
    if host.is_empty() || guest.as_deref().is_some_and(|guest| !guest.starts_with('/')) {
        return Err(format!("--dir expects HOST[:GUEST][:rw] with an absolute GUEST, not {text:?}"));
    }
    Ok(Dir { host: PathBuf::from(host), guest, writable })
}

/// `text` without `suffix`, an ASCII suffix starting with `:`.
fn strip_suffix<'a>(text: &'a OsStr, suffix: &str) -> Option<&'a OsStr> {
    let bytes = text.as_encoded_bytes();
    let rest = bytes.strip_suffix(suffix.as_bytes())?;
    // SAFETY: cut right before an ASCII character (see `split_once`).
    Some(unsafe { OsStr::from_encoded_bytes_unchecked(rest) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(line: &[&str]) -> Result<Command, String> {
        parse(line.iter().map(OsString::from))
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
        assert!(duration("1e300").unwrap_err().contains("longer than a clock can count"));
        assert!(duration("NaN").is_err() && duration("inf").is_err() && duration("-1").is_err());
        let dir = |text: &str| dir(OsStr::new(text));
        assert_eq!(dir("data:/data:rw"), Ok(Dir { host: "data".into(), guest: Some("/data".into()), writable: true }));
        assert_eq!(dir("/srv"), Ok(Dir { host: "/srv".into(), guest: None, writable: false }));
        assert_eq!(dir("/srv:ro"), Ok(Dir { host: "/srv".into(), guest: None, writable: false }));
        assert!(dir("data:relative").is_err());
        assert!(dir(":/x").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let raw = |bytes: &[u8]| OsStr::from_bytes(bytes).to_os_string();
        let line = |args: Vec<OsString>| parse(args.into_iter());
        // Host paths may be anything the system allows.
        let Ok(Command::Run(args)) = line(vec![raw(b"--dir=/srv/\xff:/d:rw"), raw(b"/tmp/\xfe.py")]) else { panic!() };
        assert_eq!(args.dirs[0].host.as_os_str(), raw(b"/srv/\xff"));
        assert_eq!((args.dirs[0].guest.as_deref(), args.dirs[0].writable), (Some("/d"), true));
        assert_eq!(args.program, Some(Program::File(PathBuf::from(raw(b"/tmp/\xfe.py")))));
        // What the guest reads as text must be text.
        for bad in [
            vec![raw(b"-c"), raw(b"print(1)\xff")],
            vec![raw(b"-c"), raw(b"1"), raw(b"\xff")],
            vec![raw(b"--env"), raw(b"K=\xff"), raw(b"-c"), raw(b"1")],
            vec![raw(b"--dir"), raw(b"/srv:/\xff"), raw(b"-c"), raw(b"1")],
            vec![raw(b"--fuel"), raw(b"1\xff")],
            vec![raw(b"--\xff")],
        ] {
            let error = line(bad.clone()).unwrap_err();
            assert!(error.contains("UTF-8") || error.contains("unknown option"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn usage_errors() {
        assert!(parse_args(&["--frobnicate"]).is_err());
        assert!(parse_args(&["-c"]).is_err());
        assert!(parse_args(&["--env", "novalue"]).is_err());
        assert_eq!(parse_args(&["-h", "-c", "1"]), Ok(Command::Help));
        assert!(parse_args(&["--timeout", "1e300", "-c", "1"]).is_err());
    }
}
