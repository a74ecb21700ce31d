//! The WASI bundle made by `cargo xtask dist`, run under Node's WASI.

mod support;

use std::fs;

use sha2::{Digest, Sha256};
use support::{run_node, wasi_bundle, Run};

/// The legacy-encoded module: Node 20 runs only that encoding.
fn module() -> std::path::PathBuf {
    wasi_bundle().join("micropython.legacy-eh.wasm")
}

fn run_code(code: &str) -> Run {
    run_node(&module(), &[], &["-c", code], "")
}

#[test]
fn prints_two_for_one_plus_one() {
    let run = run_code("print(1+1)");
    assert_eq!((run.status, run.stdout.as_str()), (0, "2\n"), "{run:?}");
}

#[test]
fn runs_a_script_with_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    support::write_script_app(dir.path());
    let run = run_node(&module(), &[(dir.path(), "/app")], &["/app/main.py", "x", "y"], "");
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout, "['/app/main.py', 'x', 'y'] 42\n", "{run:?}");
}

#[test]
fn uncaught_exception_exits_one_with_a_traceback() {
    let run = run_code("def f():\n    raise ValueError('boom')\nf()");
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stderr.starts_with("Traceback (most recent call last):"), "{run:?}");
    assert!(run.stderr.contains("in f\n"), "{run:?}");
    assert!(run.stderr.ends_with("ValueError: boom\n"), "{run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn system_exit_sets_the_exit_status() {
    assert_eq!(run_code("raise SystemExit(7)").status, 7);
    assert_eq!(run_code("import sys; sys.exit()").status, 0);
    let run = run_code("import sys; sys.exit('bye')");
    assert_eq!((run.status, run.stderr.as_str()), (1, "bye\n"), "{run:?}");
    // Any integer exits with its low byte, as POSIX takes it: one past 32
    // bits once made the interpreter abort.
    let run = run_code("import sys; sys.exit(2 ** 70 + 3)");
    assert_eq!((run.status, run.stderr.as_str()), (3, ""), "{run:?}");
}

#[test]
fn a_path_outside_the_granted_folders_is_named() {
    let run = run_code("open('/etc/passwd')");
    assert_eq!(run.status, 1);
    assert!(run.stderr.ends_with("OSError: [Errno 76] ENOTCAPABLE\n"), "{run:?}");
}

#[test]
fn missing_script_is_a_usage_error() {
    let run = run_node(&module(), &[], &["/nowhere/x.py"], "");
    assert_eq!(run.status, 2, "{run:?}");
    assert!(run.stderr.contains("can't open file '/nowhere/x.py'"), "{run:?}");
}

#[test]
fn bad_option_is_a_usage_error() {
    let run = run_node(&module(), &[], &["--frobnicate"], "");
    assert_eq!(run.status, 2, "{run:?}");
    assert!(run.stderr.contains("unknown option --frobnicate"), "{run:?}");
    let run = run_node(&module(), &[], &["-X", "heapsize=lots", "-c", "1"], "");
    assert_eq!(run.status, 2, "{run:?}");
}

#[test]
fn repl_reads_statements_from_stdin() {
    let session =
        "x = 20\nx + 1\nfor i in range(2):\n    print('loop', i)\n\nimport sys\nsys.exit(4)\nprint('not reached')\n";
    let run = run_node(&module(), &[], &[], session);
    assert_eq!(run.stdout, "21\nloop 0\nloop 1\n", "{run:?}");
    assert_eq!(run.status, 4, "{run:?}");
}

#[test]
fn program_from_stdin_with_dash() {
    let run = run_node(&module(), &[], &["-", "arg"], "import sys\nprint(sys.argv)\n");
    assert_eq!((run.status, run.stdout.as_str()), (0, "['-', 'arg']\n"), "{run:?}");
}

#[test]
fn standard_module_set_is_complete() {
    let modules = "json re math cmath binascii random heapq hashlib struct collections io time os sys \
                   array asyncio deflate errno select gc micropython";
    let code = format!(
        "missing = []\nfor name in '{modules}'.split():\n    try:\n        __import__(name)\n    except ImportError:\n        missing.append(name)\nprint('missing', missing)"
    );
    let run = run_code(&code);
    assert_eq!(run.stdout, "missing []\n", "{run:?}");
}

#[test]
fn modules_work_not_just_import() {
    let code = r#"
import json, re, math, binascii, hashlib, struct, heapq, deflate, io, asyncio, collections, time
assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
assert re.match(r"(\d+)-(\d+)", "12-34").group(2) == "34"
assert binascii.hexlify(hashlib.sha256(b"abc").digest())[:8] == b"ba7816bf"
assert struct.unpack("<hI", struct.pack("<hI", -2, 7)) == (-2, 7)
h = [5, 1, 4]; heapq.heapify(h); assert heapq.heappop(h) == 1
data = b"hello " * 50
buf = io.BytesIO()
with deflate.DeflateIO(buf, deflate.ZLIB) as f:
    f.write(data)
assert deflate.DeflateIO(io.BytesIO(buf.getvalue()), deflate.ZLIB).read() == data
async def child(n):
    await asyncio.sleep_ms(1)
    return n * 2
async def main():
    return await asyncio.gather(child(1), child(2))
assert asyncio.run(main()) == [2, 4]
assert collections.OrderedDict([("b", 1), ("a", 2)]).popitem() == ("a", 2)
assert abs(math.sqrt(2) ** 2 - 2) < 1e-12
assert time.time() > 1.7e9
print("ok")
"#;
    let run = run_code(code);
    assert_eq!((run.status, run.stdout.as_str()), (0, "ok\n"), "{run:?}");
}

#[test]
fn random_is_seeded_from_the_host() {
    let code = "import random; print(random.getrandbits(32))";
    let first = run_code(code).stdout;
    let second = run_code(code).stdout;
    assert_ne!(first, second, "two runs drew the same 32 random bits: random is not seeded from WASI random_get");
}

#[test]
fn os_reads_a_preopened_directory() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("data.txt"), "line one\nline two\n").unwrap();
    let code = "import os\nprint(sorted(os.listdir('/data')))\nwith open('/data/data.txt') as f:\n    print(f.read().splitlines()[1])\nprint(os.stat('/data/data.txt')[6])";
    let run = run_node(&module(), &[(dir.path(), "/data")], &["-c", code], "");
    assert_eq!(run.stdout, "['data.txt']\nline two\n18\n", "{run:?}");
}

#[test]
fn bundle_checksums_and_provenance_match_the_module() {
    let bundle = wasi_bundle();
    let sums = fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").expect("sha256sum format");
        let actual = hex::encode(Sha256::digest(fs::read(bundle.join(name)).unwrap()));
        assert_eq!(sum, actual, "checksum of {name}");
    }
    assert!(sums.contains("  micropython.wasm\n"));
    assert!(sums.contains("  micropython.legacy-eh.wasm\n"));
    let provenance: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(bundle.join("provenance.json")).unwrap()).unwrap();
    assert_eq!(provenance["micropython_version"], "1.26.1");
    assert_eq!(provenance["variant"], "standard");
    assert_eq!(provenance["artifact"], "command");
    assert_eq!(provenance["exception_handling"], "exnref", "the plain name is the standard encoding");
    assert_eq!(provenance["source"]["sha256"], "f5ad2ec89d3e921f753d448955af98b6005655f84ba26087dde6ba0e8d062f34");
    // The JSON beside the module is the section embedded in it.
    let inspect = support::xtask(&["inspect", bundle.join("micropython.wasm").to_str().unwrap()]);
    let printed = String::from_utf8_lossy(&inspect.stdout);
    let embedded: serde_json::Value = serde_json::from_str(&printed[..printed.find("\n}\n").unwrap() + 3]).unwrap();
    assert_eq!(embedded, provenance);
    assert!(fs::read_to_string(bundle.join("README.md")).unwrap().contains("micropython.wasm"));
}

#[test]
fn host_module_imports_and_explains_that_commands_have_no_host_functions() {
    let code = "import host\ntry:\n    host.add(1, 2)\nexcept host.HostError as e:\n    print(e)\ntry:\n    host.__missing__\nexcept AttributeError:\n    print('no dunder calls')";
    let run = run_code(code);
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout, "no host functions in the command module (called add)\nno dunder calls\n", "{run:?}");
}
