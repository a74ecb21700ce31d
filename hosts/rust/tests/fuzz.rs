//! Fuzzing a persistent session with random and mutated Python source, for
//! a bounded time: whatever the input, a run ends in `Ok`, a Python
//! exception, `SystemExit` or a limit, never a trap or a host panic, and the
//! session (reset after a limit) still answers `1 + 1`.
//!
//! `MICROPYTHON_WASM_FUZZ_SECS` sets the time (default 10),
//! `MICROPYTHON_WASM_FUZZ_SEED` replays a run (the seed is printed), and
//! `MICROPYTHON_WASM_FUZZ_CORPUS` names a folder of `.py` files to mutate
//! beside the built-in seeds (MicroPython's own `tests/basics`, say).

use std::time::{Duration, Instant};

use micropython_wasm::{Error, Sandbox};

/// Seeds that reach the parser, the compiler, the VM and the libraries.
const SEEDS: &[&str] = &[
    "x = [i * i for i in range(10) if i % 2]\nprint(x)",
    "def f(a, *b, c=1, **d):\n    return a, b, c, d\nprint(f(1, 2, c=3, e=4))",
    "class A:\n    def __init__(self):\n        self.v = 1\n    def __repr__(self):\n        return 'A(%d)' % self.v\nprint(A())",
    "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    print(e)\nfinally:\n    pass",
    "import json\nprint(json.loads('{\"a\": [1, 2.5, null]}'))",
    "import re\nprint(re.sub(r'(\\d+)', lambda m: m.group(1) * 2, 'a1b22'))",
    "def gen():\n    yield from range(3)\nprint(list(gen()))",
    "async def co():\n    return 1\nimport asyncio\nprint(asyncio.run(co()))",
    "d = {k: v for k, v in zip('abc', b'xyz')}\nprint(sorted(d.items()))",
    "s = 'héllo wörld'\nprint(s.encode(), s[::-1], f'{s!r:>20}')",
    "import struct\nprint(struct.pack('<IhB', 1, -2, 3))",
    "with open('/nonexistent') as f:\n    pass",
    "x = 1\nwhile x < 1000:\n    x <<= 3\nprint(x, 2 ** 100, -7 // 2, 7 % -3)",
    "print(bytes(range(5)), bytearray(b'ab') * 2, memoryview(b'abc')[1:])",
    "import collections\nq = collections.deque((), 5)\nq.append(1)\nprint(q.popleft())",
    "lambda: (yield)\nglobal g\nnonlocal_ = 1\nassert True, 'msg'",
    "import math, cmath\nprint(math.sqrt(2), cmath.exp(1j), float('nan') == float('nan'))",
    "@staticmethod\ndef f(): pass\nprint(type(f))",
    "a, *b, c = range(5)\nprint(a, b, c)\ndel a",
    "import sys\nprint(sys.implementation.name, len(sys.modules) >= 0)",
];

/// Fragments spliced in to reach odd corners.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    "\n",
    "    ",
    "lambda",
    "yield",
    "await",
    "async ",
    "def ",
    "class ",
    "*",
    "**",
    "'",
    "\"\"\"",
    "\\",
    "#",
    "@",
    "=",
    ":=",
    "global x",
    "return",
    "import sys\n",
    "1e308*10",
    "0x",
    "b'",
    "f'{",
    "\u{feff}",
    "\u{0}",
    "é",
    "9",
    "while 1:pass\n",
    "raise ",
    "del ",
    "not ",
    "in ",
    "is ",
];

/// xorshift64*: reproducible from the printed seed, no dependency.
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

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One to four mutations of `base`: inserted tokens, deleted or duplicated
/// ranges, a splice from another seed, a truncation.
fn mutate(rng: &mut Rng, base: &str, corpus: &[String]) -> String {
    let mut text = base.to_owned();
    for _ in 0..=rng.below(4) {
        let at = boundary(&text, rng.below(text.len() + 1));
        let to = boundary(&text, at + rng.below(32));
        match rng.below(5) {
            0 => text.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
            1 => text.replace_range(at..to.max(at), ""),
            2 => {
                let copy = text[at..to.max(at)].to_owned();
                text.insert_str(at, &copy);
            }
            3 => {
                let other = rng.pick(corpus);
                let from = boundary(other, rng.below(other.len() + 1));
                let end = boundary(other, from + rng.below(200));
                text.insert_str(at, &other[from..end]);
            }
            _ => text.truncate(at),
        }
    }
    text
}

fn corpus() -> Vec<String> {
    let mut corpus: Vec<String> = SEEDS.iter().map(|seed| seed.to_string()).collect();
    if let Some(dir) = std::env::var_os("MICROPYTHON_WASM_FUZZ_CORPUS") {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("reading the fuzz corpus {dir:?}: {err}"))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
            .collect();
        files.sort();
        corpus.extend(files.iter().filter_map(|path| std::fs::read_to_string(path).ok()));
    }
    corpus
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| value.parse().unwrap_or_else(|_| panic!("{name} must be a number")))
}

#[test]
fn random_source_never_breaks_a_session() {
    let seconds = env_number("MICROPYTHON_WASM_FUZZ_SECS").unwrap_or(10);
    let seed = env_number("MICROPYTHON_WASM_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    println!("fuzz: seed {seed} for {seconds} s (replay with MICROPYTHON_WASM_FUZZ_SEED={seed})");
    let corpus = corpus();
    let sandbox = Sandbox::builder()
        .fuel(50_000_000)
        .timeout(Duration::from_secs(2))
        .memory(32 << 20)
        .max_output(64 << 10)
        .build()
        .unwrap();
    let mut session = sandbox.session().unwrap();
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut inputs, mut exceptions, mut limits) = (0, 0, 0);
    while Instant::now() < deadline {
        let input = match rng.below(10) {
            0 => rng.pick(&corpus).clone(),
            1 => (0..rng.below(200)).map(|_| char::from(32 + rng.below(95) as u8)).collect(),
            _ => {
                let base = rng.pick(&corpus).clone();
                mutate(&mut rng, &base, &corpus)
            }
        };
        inputs += 1;
        let replay = || format!("seed {seed}, input {inputs}:\n{input}");
        match session.run(&input) {
            Ok(_) | Err(Error::Exit { .. }) => {}
            Err(Error::Exception { .. }) => exceptions += 1,
            Err(
                Error::OutOfFuel { .. } | Error::Timeout { .. } | Error::OutputLimit { .. } | Error::MemoryLimit { .. },
            ) => {
                limits += 1;
                session.reset().unwrap();
            }
            Err(other) => panic!("{}\n--- gave\n{other}", replay()),
        }
        if inputs % 20 == 0 {
            // The REPL echo does not go through a `print` the input may have
            // rebound. A heap the inputs filled answers MemoryError.
            match session.run_interactive("1 + 1") {
                Ok(output) => assert_eq!(output.stdout, "2\n", "{}", replay()),
                Err(Error::Exception { exception, .. }) if exception.type_name == "MemoryError" => {
                    session.reset().unwrap()
                }
                Err(other) => panic!("{}\n--- then 1 + 1 gave\n{other}", replay()),
            }
        }
    }
    session.reset().unwrap();
    assert_eq!(session.run("print(1 + 1)").unwrap().stdout, "2\n");
    println!("fuzz: {inputs} inputs, {exceptions} Python exceptions, {limits} limits, seed {seed}");
    assert!(inputs > 0);
}
