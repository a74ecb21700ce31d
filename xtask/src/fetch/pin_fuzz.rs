//! Fuzzing the source-pin parser for a bounded time: mutated pins are
//! either rejected with a message or accepted with every invariant the
//! fetch relies on; the parser never panics.
//!
//! `MPWASM_FUZZ_SECS` sets the time (default 3), `MPWASM_FUZZ_SEED` replays
//! a run; the seed and the failing input are printed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Component, Path};
use std::time::{Duration, Instant};

use super::pin::SourcePin;

/// Fragments that reach TOML's corners and the pin's own checks.
const TOKENS: &[&str] = &[
    "=",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "[",
    "]",
    "[[mirror]]",
    "[mirror]",
    "{",
    "}",
    ",",
    "\n",
    "#",
    "\\",
    "\\u0000",
    "..",
    "/",
    "../",
    "http://",
    "ftp://",
    "version",
    "mirror",
    "name",
    "url",
    "sha256",
    "top_dir",
    "1e400",
    "-0",
    "true",
    "1979-05-27T07:32:00Z",
    "é",
    "\u{feff}",
    "\r\n",
    "\t",
    "[[mirror.x]]",
    "inf",
    "nan",
    "0x10",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(rng: &mut Rng, base: &str) -> String {
    let mut text = base.to_owned();
    for _ in 0..=rng.below(6) {
        let at = boundary(&text, rng.below(text.len() + 1));
        let to = boundary(&text, at + rng.below(24));
        match rng.below(4) {
            0 => text.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
            1 => text.replace_range(at..to.max(at), ""),
            2 => {
                let copy = text[at..to.max(at)].to_owned();
                text.insert_str(at, &copy);
            }
            _ => {
                let byte = char::from(rng.below(128) as u8);
                text.insert(at, byte);
            }
        }
    }
    text
}

/// What the fetch assumes of an accepted pin.
fn check_invariants(pin: &SourcePin) -> Result<(), String> {
    if pin.version.trim().is_empty() || pin.mirrors.is_empty() {
        return Err("empty version or no mirrors accepted".into());
    }
    for mirror in &pin.mirrors {
        if mirror.sha256.len() != 64 || !mirror.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!("sha256 {:?} accepted", mirror.sha256));
        }
        let mut parts = Path::new(&mirror.top_dir).components();
        if !matches!((parts.next(), parts.next()), (Some(Component::Normal(_)), None)) {
            return Err(format!("top_dir {:?} accepted", mirror.top_dir));
        }
        if !(mirror.url.starts_with("http://") || mirror.url.starts_with("https://")) {
            return Err(format!("url {:?} accepted", mirror.url));
        }
    }
    Ok(())
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| value.parse().unwrap_or_else(|_| panic!("{name} must be a number")))
}

#[test]
fn mutated_pins_are_rejected_or_sound_and_never_panic() {
    let seconds = env_number("MPWASM_FUZZ_SECS").unwrap_or(3);
    let seed = env_number("MPWASM_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("pin fuzz: seed {seed} for {seconds} s (replay with MPWASM_FUZZ_SEED={seed})");
    let base = std::fs::read_to_string(super::pin::default_path()).unwrap();
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut inputs, mut accepted) = (0u64, 0u64);
    while Instant::now() < deadline {
        let input = mutate(&mut rng, &base);
        inputs += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| SourcePin::parse(&input)));
        let verdict = match outcome {
            Err(_) => Err("the parser panicked".to_owned()),
            Ok(Ok(pin)) => {
                accepted += 1;
                check_invariants(&pin)
            }
            Ok(Err(error)) if format!("{error:#}").trim().is_empty() => Err("an empty error message".to_owned()),
            Ok(Err(_)) => Ok(()),
        };
        if let Err(problem) = verdict {
            panic!("{problem} (seed {seed}, input {inputs}):\n{input}");
        }
    }
    eprintln!("pin fuzz: {inputs} inputs, {accepted} accepted, seed {seed}");
    assert!(inputs > 0);
}
