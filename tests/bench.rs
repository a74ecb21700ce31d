//! `cargo xtask bench`: a quick run writes a complete report, and a baseline
//! it regresses against makes it fail with a Markdown diff.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use support::{repo_root, wasi_bundle, xtask, xtask_command};

/// The report of one `bench --quick`, after `dist` has built every bundle
/// (the npm package's JS glue and the Rust CLI are measured too).
fn quick_report() -> &'static Path {
    static REPORT: OnceLock<PathBuf> = OnceLock::new();
    REPORT.get_or_init(|| {
        wasi_bundle();
        let out = repo_root().join("target/bench-test-report");
        xtask(&["bench", "--quick", "--profile", "size", "--out", out.to_str().unwrap()]);
        out
    })
}

/// The bench needs a native MicroPython build and a release build of the Rust
/// CLI (minutes on two cores), so it runs in the full suite only
/// (`cargo xtask ci --full`, or MPWASM_FULL=1).
fn full_suite() -> bool {
    let full = std::env::var_os("MPWASM_FULL").is_some();
    if !full {
        eprintln!("skipped: the benchmark tests run with MPWASM_FULL=1 (cargo xtask ci --full)");
    }
    full
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn positive(value: &Value, what: &str) -> f64 {
    let number = value.as_f64().unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!(number.is_finite() && number > 0.0, "{what} = {number}");
    number
}

#[test]
fn quick_run_reports_every_figure() {
    if !full_suite() {
        return;
    }
    let dir = quick_report();
    let report = read_json(&dir.join("report.json"));
    assert_eq!(report["schema"], 1);
    assert_eq!(report["quick"], true);
    for field in ["os", "arch", "cpu"] {
        assert!(report["host"][field].as_str().is_some_and(|s| !s.is_empty()), "host.{field}");
    }
    assert!(report["revision"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(report["source"]["micropython_version"], "1.26.1");
    for tool in ["clang", "binaryen", "walrus", "wasmtime", "node", "rustc"] {
        assert!(report["toolchain"][tool].as_str().is_some_and(|s| !s.is_empty()), "toolchain.{tool}");
    }
    assert_eq!(report["missing"], serde_json::json!([]), "every host and bundle should be measured");

    let build = &report["builds"][0];
    assert_eq!(build["name"], "standard-size");
    for artifact in ["command", "library"] {
        let module = &build["modules"][artifact];
        for field in ["raw", "gzip", "brotli", "exnref_raw"] {
            positive(&module[field], &format!("{artifact}.{field}"));
        }
        positive(&module["sections"]["code"], "code section");
        positive(&module["sections"]["data"], "data section");
        assert!(!module["top_functions"].as_array().unwrap().is_empty());
    }
    positive(&build["frozen"]["mpy_bytes"], "frozen .mpy bytes");
    assert!(build["frozen"]["modules"].as_array().unwrap().iter().any(|m| m.as_str().unwrap().contains("asyncio")));
    positive(&report["js_glue"]["total"]["gzip"], "our JS glue");
    positive(&report["upstream"]["wasm"]["gzip"], "upstream wasm");
    positive(&report["upstream"]["js_glue"]["total"]["gzip"], "upstream JS glue");

    let startup = report["startup"].as_array().unwrap();
    for (host, mode) in [
        ("native", "cold"),
        ("standard-size/node", "cold"),
        ("standard-size/node", "warm"),
        ("standard-size/wasmtime", "warm"),
        ("upstream/node", "cold"),
        ("upstream/node", "warm"),
        ("rust-cli", "cold"),
    ] {
        let entry = startup
            .iter()
            .find(|s| s["host"] == host && s["mode"] == mode)
            .unwrap_or_else(|| panic!("no {mode} start-up for {host}"));
        positive(&entry["median_ms"], &format!("{host} {mode}"));
        positive(&entry["ratio_to_native"], &format!("{host} {mode} ratio"));
        assert!(entry["runs"].as_u64().unwrap() >= 5);
    }

    let perf = &report["perf"];
    let hosts: Vec<&str> = perf["hosts"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    for host in
        ["native", "standard-size/wasmtime", "standard-size/wasmtime+fuel", "standard-size/node", "upstream/node"]
    {
        assert!(hosts.contains(&host), "perf host {host} missing from {hosts:?}");
    }
    let programs = perf["programs"].as_array().unwrap();
    assert_eq!(programs.len(), 3, "--quick runs three programs");
    for program in programs {
        for host in &hosts {
            let measured = &program["hosts"][host];
            positive(&measured["median_us"], &format!("{} on {host}", program["name"]));
            assert_eq!(measured["same_result_as_native"], true, "{} on {host}: {measured}", program["name"]);
        }
        positive(&program["hosts"]["standard-size/wasmtime"]["peak_memory_bytes"], "peak memory");
    }
    for host in hosts.iter().filter(|h| **h != "native") {
        positive(&perf["geomean_ratio"][host], &format!("{host} geomean"));
    }

    let metrics = report["metrics"].as_object().unwrap();
    assert!(metrics.len() > 20);
    for (name, entry) in metrics {
        let pair = entry.as_array().unwrap_or_else(|| panic!("{name} is not [value, unit]"));
        assert_eq!(pair.len(), 2, "{name}");
        assert!(pair[0].as_f64().is_some_and(f64::is_finite), "{name}");
        assert!(pair[1].is_string(), "{name}");
    }
    for name in ["size.standard-size.command.gzip", "perf.standard-size/wasmtime.geomean", "startup.native.cold"] {
        assert!(metrics.contains_key(name), "metric {name}");
    }

    let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(markdown.contains("## Speed: perf_bench") && markdown.contains("| program |"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("<table>"));
    assert!(!html.contains("src=") && !html.contains("<link") && !html.contains("href="), "no external assets");
}

#[test]
fn a_regression_against_the_baseline_fails_with_a_diff() {
    if !full_suite() {
        return;
    }
    let current = quick_report().join("report.json");
    let mut baseline = read_json(&current);
    // The baseline was 20% smaller and faster: this run regressed.
    for entry in baseline["metrics"].as_object_mut().unwrap().values_mut() {
        if entry[1] == "bytes" || entry[1] == "x native" {
            entry[0] = (entry[0].as_f64().unwrap() * 0.8).into();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let doctored = dir.path().join("baseline.json");
    std::fs::write(&doctored, serde_json::to_vec(&baseline).unwrap()).unwrap();

    let args = ["bench", "--baseline", doctored.to_str().unwrap(), "--current", current.to_str().unwrap()];
    let output = xtask_command(&args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a 25% regression must fail:\n{stdout}");
    assert!(stdout.contains("| metric | before | after | change |"), "{stdout}");
    assert!(
        stdout.contains("| size.standard-size.command.gzip |") && stdout.contains("+25.0% | ❌ regression |"),
        "{stdout}"
    );
    assert!(stderr.contains("regressions over 5.0%"), "{stderr}");

    // Against itself nothing regressed; a loose threshold passes too.
    let same = xtask(&["bench", "--baseline", current.to_str().unwrap(), "--current", current.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&same.stdout).contains("No regressions"));
    let args = ["bench", "--baseline", doctored.to_str().unwrap(), "--current", current.to_str().unwrap()];
    xtask(&[args.as_slice(), &["--fail-over", "30%"]].concat());
}
