//! Correctness of the wasm build against MicroPython's own test suite, with
//! a native build of the same sources as the reference (`cargo xtask
//! conformance`), and the two properties the suite alone does not pin down:
//! the collector sees every live object even when it runs on every
//! allocation, and deep recursion ends in RuntimeError, never in a trap.

mod support;

use serde_json::Value;
use support::{run_node, wasi_bundle, xtask, Run};

/// The legacy-encoded module: Node 20 runs only that encoding.
fn module() -> std::path::PathBuf {
    wasi_bundle().join("micropython.legacy-eh.wasm")
}

fn run(args: &[&str]) -> Run {
    run_node(&module(), &[], args, "")
}

/// Tests of the suite run on every `cargo test`, normally and under GC
/// torture (a few minutes; the whole suite is the ignored test below): the
/// collector's own tests, C code that juggles many objects at once (sorting,
/// containers, calls, generators, json, re), C recursion that must end in
/// RuntimeError, and the tests that need the host's working directory.
const ALWAYS_RUN: &str = concat!(
    "^(basics/(gc|sort|list_|dict_|fun_|gen_yield)",
    "|micropython/(gc|heapalloc_(iter|inst|exc))",
    "|stress/recursive",
    "|extmod/(json_|re_|vfs_posix)",
    "|unicode/file",
    "|import/builtin_ext",
    ")"
);

#[test]
fn suite_subset_matches_native_also_under_gc_torture() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("conformance.json");
    xtask(&["conformance", "--torture", "--include", ALWAYS_RUN, "--report", report_path.to_str().unwrap()]);

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    for run in ["native", "wasm", "native-torture", "wasm-torture"] {
        let passed = report["runs"][run]["passed"].as_u64().unwrap_or(0);
        assert!(passed > 80, "{run} passed only {passed} tests of the subset:\n{:#}", report["runs"]);
        assert_eq!(report["runs"][run]["traps"], 0, "{run} trapped:\n{:#}", report["tests"]);
    }
}

/// The whole suite, GC torture and every perf_bench program with a 1 MiB
/// heap: many minutes, so only in the full tier (`cargo xtask ci --full`),
/// which CI runs once per issue.
#[test]
#[ignore = "full tier: many minutes; `cargo xtask ci --full` runs it"]
fn whole_suite_matches_native_also_under_gc_torture_and_in_a_small_heap() {
    xtask(&["conformance", "--all"]);
}

#[test]
fn collection_before_every_allocation_keeps_what_c_code_still_holds() {
    // Each line has C code allocate while it holds an earlier result only in
    // a local: the results a collector that misses wasm locals gets wrong.
    let program = r#"
print(sorted(range(50), key=lambda x: [x] * 10)[:3])
print({str(i): [i] * 3 for i in range(20)}["7"])
print([(i, str(i)) for i in range(30)][-1])
print(",".join(str(i) * 3 for i in range(10)))
print(list(map(lambda x: (x, [x]), range(5)))[4])
print("%s-%r" % ("a", [1, "b"]), "{}:{!r}".format(2.5, (None, "c")))
print(sum(len(str([i, {i: str(i)}])) for i in range(100)))
print(max((str(i) for i in range(100)), key=lambda s: (len(s), s)))
"#;
    let expected = "[0, 1, 2]\n[7, 7, 7]\n(29, '29')\n000,111,222,333,444,555,666,777,888,999\n(4, [4])\n\
                    a-[1, 'b'] 2.5:(None, 'c')\n1570\n99\n";
    let result = run(&["-X", "gcthreshold=1", "-c", program]);
    assert_eq!((result.status, result.stdout.as_str()), (0, expected), "{result:?}");
}

#[test]
fn a_small_heap_recycles_far_more_garbage_than_it_holds() {
    // About 40 MB of short-lived objects through a 64 KiB heap.
    let program = "t = 0\nfor i in range(20000):\n    t += len([str(i)] * 100)\nprint(t)";
    let result = run(&["-X", "heapsize=64k", "-c", program]);
    assert_eq!((result.status, result.stdout.as_str()), (0, "2000000\n"), "{result:?}");
}

#[test]
fn deep_recursion_raises_runtime_error_instead_of_trapping() {
    let program = r#"
import json, re

def nested(n):
    a = []
    for _ in range(n):
        a = [a]
    return a

class Deeper:
    def __repr__(self):
        return repr(Deeper())

def endless():
    yield from endless()

def chained(n):
    x = (1, 2)
    for _ in range(n):
        x = filter(None, x)
    return tuple(x)

for name, run in [
    ("repr", lambda: repr(nested(100000))),
    ("__repr__", lambda: repr(Deeper())),
    ("json", lambda: json.dumps(nested(100000))),
    ("yield from", lambda: list(endless())),
    ("iterators", lambda: chained(5000)),
    ("regex", lambda: re.match("(a|b)*c", "ab" * 100000)),
    ("python", lambda: (lambda f: f(f))(lambda f: f(f))),
]:
    try:
        run()
        print(name, "returned")
    except RuntimeError:
        print(name, "RuntimeError")
"#;
    let result = run(&["-c", program]);
    let expected: String = ["repr", "__repr__", "json", "yield from", "iterators", "regex", "python"]
        .iter()
        .map(|name| format!("{name} RuntimeError\n"))
        .collect();
    assert_eq!((result.status, result.stdout.as_str()), (0, expected.as_str()), "{result:?}");
}

#[test]
fn x_options_of_micropythons_test_runners_are_accepted_and_checked() {
    let result = run(&["-X", "emit=bytecode", "-X", "gcthreshold=1", "-c", "import gc; print(gc.threshold())"]);
    assert_eq!((result.status, result.stdout.as_str()), (0, "0\n"), "{result:?}");
    for bad in ["gcthreshold=lots", "gcthreshold=-1", "emit=native"] {
        let result = run(&["-X", bad, "-c", "print(1)"]);
        assert_eq!(result.status, 2, "-X {bad}: {result:?}");
    }
}
