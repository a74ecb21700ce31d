//! Load: many short runs in fresh stores across threads, and many snippets
//! in one session, with every result checked and the process's resident
//! memory bounded.
//!
//! The figures are printed as one `load:` JSON line, and written to the file
//! `$MICROPYTHON_WASM_LOAD_REPORT` names, if set.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use micropython_wasm::{Error, Sandbox};
use serde_json::json;

const THREADS: usize = 8;
const FRESH_RUNS: usize = 10_000;
const SESSION_SNIPPETS: usize = 1_000;
/// Resident memory the process may gain over each phase, after a warm-up
/// that has every thread's allocator arenas and the compiled code in place.
/// Each run maps and frees a store of about 9 MiB; a leaked store per run
/// would show as gigabytes, a leaked string per snippet as megabytes.
const RSS_BOUND: u64 = 16 << 20;

/// The two phases share the process: run them one after the other so that
/// each measures only itself.
static SERIAL: Mutex<()> = Mutex::new(());

/// The process's resident set, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 =
        statm.split_whitespace().nth(1).and_then(|field| field.parse().ok()).expect("statm's resident field");
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// Snippet `i` and the output it must give: arithmetic, strings, json, an
/// exception caught in Python, an uncaught one.
fn snippet(i: usize) -> (String, Result<String, &'static str>) {
    match i % 5 {
        0 => (format!("print(sum(range({i})))"), Ok(format!("{}\n", i * i.saturating_sub(1) / 2))),
        1 => (format!("s = 'n%d' % {i}\nprint(s.upper() * 2)"), Ok(format!("N{i}N{i}\n"))),
        2 => (
            format!("import json\nprint(json.dumps({{'i': {i}, 'l': [1, 2]}}))"),
            Ok(format!("{{\"i\": {i}, \"l\": [1, 2]}}\n")),
        ),
        3 => (format!("try:\n    int('x{i}')\nexcept ValueError:\n    print('caught')"), Ok("caught\n".to_owned())),
        _ => (format!("raise KeyError({i})"), Err("KeyError")),
    }
}

fn check(i: usize, result: Result<micropython_wasm::Output, Error>) {
    let (code, expected) = snippet(i);
    match (result, expected) {
        (Ok(output), Ok(stdout)) => assert_eq!(output.stdout, stdout, "{code}"),
        (Err(Error::Exception { exception, .. }), Err(type_name)) => {
            assert_eq!(exception.type_name, type_name, "{code}")
        }
        (result, expected) => panic!("{code}: expected {expected:?}, got {result:?}"),
    }
}

fn fresh_runs(sandbox: &Sandbox, count: usize) -> Duration {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                check(i, sandbox.run(&snippet(i).0));
            });
        }
    });
    started.elapsed()
}

fn report(name: &str, figures: serde_json::Value) {
    println!("load: {}", json!({ name: figures }));
    if let Some(path) = std::env::var_os("MICROPYTHON_WASM_LOAD_REPORT") {
        let line = format!("{}\n", json!({ name: figures }));
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        std::io::Write::write_all(&mut file, line.as_bytes()).unwrap();
    }
}

#[test]
fn ten_thousand_fresh_runs_on_eight_threads() {
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let sandbox = Sandbox::builder().fuel(100_000_000).timeout(Duration::from_secs(30)).build().unwrap();
    fresh_runs(&sandbox, 4 * THREADS * 10);
    let before = rss();
    let elapsed = fresh_runs(&sandbox, FRESH_RUNS);
    let after = rss();
    let rate = FRESH_RUNS as f64 / elapsed.as_secs_f64();
    report(
        "fresh_runs",
        json!({ "runs": FRESH_RUNS, "threads": THREADS, "seconds": elapsed.as_secs_f64(), "runs_per_second": rate,
                "rss_before_bytes": before, "rss_after_bytes": after, "rss_bound_bytes": RSS_BOUND }),
    );
    assert!(after <= before + RSS_BOUND, "resident memory grew from {before} to {after} bytes");
}

#[test]
fn a_thousand_snippets_in_one_session() {
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let sandbox = Sandbox::builder().fuel(100_000_000).timeout(Duration::from_secs(30)).build().unwrap();
    let mut session = sandbox.session().unwrap();
    for i in 0..100 {
        check(i, session.run(&snippet(i).0));
    }
    let before = rss();
    let started = Instant::now();
    for i in 0..SESSION_SNIPPETS {
        // State accumulates as it would in a notebook; the heap is bounded,
        // so the host's memory must be too.
        check(i, session.run(&format!("v{} = [{i}] * 50\n{}", i % 200, snippet(i).0)));
    }
    let elapsed = started.elapsed();
    let after = rss();
    assert_eq!(session.run("print(v7[0] % 200)").unwrap().stdout, "7\n");
    let rate = SESSION_SNIPPETS as f64 / elapsed.as_secs_f64();
    report(
        "session",
        json!({ "snippets": SESSION_SNIPPETS, "seconds": elapsed.as_secs_f64(), "snippets_per_second": rate,
                "rss_before_bytes": before, "rss_after_bytes": after, "rss_bound_bytes": RSS_BOUND }),
    );
    assert!(after <= before + RSS_BOUND, "resident memory grew from {before} to {after} bytes");
}
