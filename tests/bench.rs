//! `cargo xtask bench`: a quick run writes a complete report (every figure
//! the benchmark promises, checked against the list this file holds), and a
//! baseline it regresses against makes it fail with a Markdown diff. The full
//! run is checked in the full tier only (MPWASM_FULL=1): it takes many
//! minutes.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use support::{repo_root, wasi_bundle, xtask, xtask_command};

/// What a report must hold: the builds it measured and how hard it tried.
struct Expect {
    builds: &'static [&'static str],
    quick: bool,
    /// Fewest start-up runs behind each median.
    runs: u64,
}

/// A quick run measures one build.
const QUICK: Expect = Expect { builds: &["standard-size"], quick: true, runs: 3 };

/// A full run measures both profiles, with more start-up runs.
const FULL: Expect = Expect { builds: &["standard-size", "standard-speed"], quick: false, runs: 10 };

/// Hosts every perf_bench program runs under (all but native have a
/// geomean).
fn perf_hosts(expect: &Expect) -> Vec<String> {
    let mut hosts = vec!["native".to_owned()];
    for build in expect.builds {
        hosts.extend(["wasmtime", "wasmtime+fuel", "node"].map(|host| format!("{build}/{host}")));
    }
    hosts.extend(["upstream/node", "rust-cli", "rust-cli+fuel"].map(String::from));
    hosts
}

/// Hosts whose linear memory the bench can read.
fn memory_hosts(expect: &Expect) -> Vec<String> {
    expect.builds.iter().flat_map(|build| [format!("{build}/wasmtime"), format!("{build}/wasmtime+fuel")]).collect()
}

/// Start-up figures: whole-process (cold) and in-process (warm) runs.
fn startups(expect: &Expect) -> Vec<(String, &'static str)> {
    let mut startups = vec![("native".to_owned(), "cold")];
    for build in expect.builds {
        startups.push((format!("{build}/node"), "cold"));
        startups.push((format!("{build}/node"), "warm"));
        startups.push((format!("{build}/wasmtime"), "warm"));
        startups.push((format!("{build}/wasmtime+fuel"), "warm"));
    }
    startups.extend(
        [("upstream/node", "cold"), ("upstream/node", "warm"), ("rust-cli", "cold")].map(|(h, m)| (h.to_owned(), m)),
    );
    startups
}

/// Headline metrics a baseline is compared on.
fn metrics(expect: &Expect) -> Vec<String> {
    let mut metrics = Vec::new();
    for build in expect.builds {
        for figure in ["raw", "gzip", "brotli", "code", "data", "custom"] {
            metrics.push(format!("size.{build}.command.{figure}"));
        }
        metrics.push(format!("size.{build}.library.gzip"));
        metrics.push(format!("size.{build}.frozen_mpy"));
        metrics.push(format!("size.{build}.frozen_data"));
        metrics.push(format!("startup.{build}/wasmtime.warm"));
        metrics.push(format!("startup.{build}/node.warm"));
        for host in ["wasmtime", "wasmtime+fuel", "node"] {
            metrics.push(format!("perf.{build}/{host}.geomean"));
        }
        metrics.push(format!("memory.{build}/wasmtime.peak"));
    }
    metrics.extend(
        [
            "size.npm.js_glue.gzip",
            "size.upstream.wasm.gzip",
            "size.upstream.js_glue.gzip",
            "startup.native.cold",
            "startup.upstream/node.warm",
            "startup.rust-cli.cold",
            "perf.upstream/node.geomean",
            "perf.rust-cli.geomean",
            "perf.rust-cli+fuel.geomean",
        ]
        .map(String::from),
    );
    metrics
}

/// The report of one `bench --quick`, after `dist` has built every bundle
/// (the npm package's JS glue and the Rust CLI are measured too).
fn quick_report() -> &'static Path {
    static REPORT: OnceLock<PathBuf> = OnceLock::new();
    REPORT.get_or_init(|| {
        wasi_bundle();
        let out = repo_root().join("target/bench-test-report");
        xtask(&["bench", "--quick", "--out", out.to_str().unwrap()]);
        out
    })
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Everything in `report` that breaks the schema or leaves a figure out.
fn problems(report: &Value, expect: &Expect) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    let positive = |value: &Value| value.as_f64().is_some_and(|n| n.is_finite() && n > 0.0);
    let text = |value: &Value| value.as_str().is_some_and(|s| !s.is_empty());

    check(report["schema"] == 1, format!("schema is {}", report["schema"]));
    check(report["quick"] == expect.quick, format!("quick is {}", report["quick"]));
    check(report["missing"] == json!([]), format!("figures not measured: {}", report["missing"]));
    check(text(&report["revision"]), "revision".into());
    for field in ["os", "arch", "cpu"] {
        check(text(&report["host"][field]), format!("host.{field}"));
    }
    check(positive(&report["host"]["cpus"]), "host.cpus".into());
    check(report["source"]["micropython_version"] == "1.26.1", "source.micropython_version".into());
    for field in ["origin", "sha256"] {
        check(text(&report["source"][field]), format!("source.{field}"));
    }
    for tool in ["clang", "c library", "binaryen", "walrus", "wasmtime", "node", "rustc", "native cc", "rust-cli"] {
        check(text(&report["toolchain"][tool]), format!("toolchain.{tool}"));
    }

    for name in expect.builds {
        let Some(build) = report["builds"].as_array().and_then(|builds| builds.iter().find(|b| b["name"] == *name))
        else {
            check(false, format!("no build {name}"));
            continue;
        };
        check(build["gc"] == "spill", format!("{name}.gc"));
        for artifact in ["command", "library"] {
            let module = &build["modules"][artifact];
            for field in ["raw", "gzip", "brotli", "exnref_raw"] {
                check(positive(&module[field]), format!("{name}.{artifact}.{field}"));
            }
            for section in ["code", "data", "custom"] {
                check(positive(&module["sections"][section]), format!("{name}.{artifact}.sections.{section}"));
            }
            let top = module["top_functions"].as_array().map(Vec::as_slice).unwrap_or_default();
            check(
                !top.is_empty() && top.iter().all(|f| text(&f["name"]) && positive(&f["bytes"])),
                format!("{name}.{artifact}.top_functions"),
            );
        }
        for field in ["mpy_bytes", "object_data_bytes"] {
            check(positive(&build["frozen"][field]), format!("{name}.frozen.{field}"));
        }
        let frozen = build["frozen"]["modules"].as_array().map(Vec::as_slice).unwrap_or_default();
        check(
            frozen.iter().any(|m| m.as_str().is_some_and(|m| m.contains("asyncio"))),
            format!("{name}: frozen asyncio"),
        );
    }
    for sizes in ["/js_glue/total", "/upstream/wasm", "/upstream/js_glue/total"] {
        for field in ["raw", "gzip", "brotli"] {
            check(report.pointer(&format!("{sizes}/{field}")).is_some_and(positive), format!("{sizes}/{field}"));
        }
    }
    for field in ["package", "version", "integrity"] {
        check(text(&report["upstream"][field]), format!("upstream.{field}"));
    }

    let startup = report["startup"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (host, mode) in startups(expect) {
        match startup.iter().find(|s| s["host"] == *host && s["mode"] == mode) {
            None => check(false, format!("no {mode} start-up for {host}")),
            Some(entry) => {
                for field in ["median_ms", "min_ms", "max_ms", "ratio_to_native"] {
                    check(positive(&entry[field]), format!("start-up {host} {mode} {field}"));
                }
                check(entry["runs"].as_u64().is_some_and(|n| n >= expect.runs), format!("start-up {host} {mode} runs"));
            }
        }
    }

    let perf = &report["perf"];
    for field in ["n", "m", "heap_bytes", "repetitions"] {
        check(positive(&perf[field]), format!("perf.{field}"));
    }
    let hosts: Vec<&str> = perf["hosts"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let programs = perf["programs"].as_array().map(Vec::as_slice).unwrap_or_default();
    check(!programs.is_empty(), "no perf_bench program ran".into());
    for host in &perf_hosts(expect) {
        check(hosts.contains(&host.as_str()), format!("perf host {host}"));
        for program in programs {
            let measured = &program["hosts"][host];
            let name = format!("{} on {host}", program["name"]);
            check(positive(&measured["median_us"]), format!("{name}: median"));
            check(measured["times_us"].as_array().is_some_and(|t| !t.is_empty()), format!("{name}: times"));
            check(positive(&measured["ratio"]), format!("{name}: ratio to native"));
            check(measured["same_result_as_native"] == true, format!("{name}: result differs from native's"));
        }
        if host != "native" {
            check(positive(&perf["geomean_ratio"][host]), format!("perf geomean of {host}"));
        }
    }
    for host in &memory_hosts(expect) {
        for program in programs {
            let peak = &program["hosts"][host]["peak_memory_bytes"];
            check(positive(peak), format!("{} on {host}: peak memory", program["name"]));
        }
    }

    let metrics = report["metrics"].as_object();
    for (name, entry) in metrics.into_iter().flatten() {
        let well_formed = entry
            .as_array()
            .is_some_and(|pair| pair.len() == 2 && pair[0].as_f64().is_some_and(f64::is_finite) && pair[1].is_string());
        check(well_formed, format!("metric {name} is not [value, unit]: {entry}"));
    }
    for name in self::metrics(expect) {
        check(metrics.is_some_and(|m| m.contains_key(&name)), format!("metric {name}"));
    }
    problems
}

#[test]
fn quick_run_reports_every_figure() {
    let dir = quick_report();
    let report = read_json(&dir.join("report.json"));
    let problems = problems(&report, &QUICK);
    assert!(problems.is_empty(), "report.json:\n  {}", problems.join("\n  "));

    let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for heading in ["## Summary", "## Size", "## Start-up: print(1)", "## Speed: perf_bench", "## Provenance"] {
        assert!(markdown.contains(heading), "report.md has no {heading}");
    }
    assert!(markdown.contains("| program |"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("<table>"));
    assert!(!html.contains("src=") && !html.contains("<link") && !html.contains("href="), "no external assets");
}

/// The schema check above is only worth something if it notices a gap.
#[test]
fn the_schema_check_notices_a_missing_figure() {
    let mut report = read_json(&quick_report().join("report.json"));
    let build = report["builds"].as_array_mut().unwrap().iter_mut().find(|b| b["name"] == "standard-size").unwrap();
    build["modules"]["command"].as_object_mut().unwrap().remove("brotli");
    report["perf"]["geomean_ratio"].as_object_mut().unwrap().remove("standard-size/wasmtime+fuel");
    report["startup"].as_array_mut().unwrap().retain(|s| s["host"] != "rust-cli");
    report["metrics"].as_object_mut().unwrap().remove("size.standard-size.frozen_data");
    report["missing"] = json!(["upstream: offline"]);
    let problems = problems(&report, &QUICK);
    for expected in [
        "standard-size.command.brotli",
        "perf geomean of standard-size/wasmtime+fuel",
        "no cold start-up for rust-cli",
        "metric size.standard-size.frozen_data",
        "figures not measured",
    ] {
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected} not noticed in {problems:?}");
    }
}

/// The full run (the full CI tier, MPWASM_FULL=1): both profiles, every
/// perf_bench program the wasm builds can run, correct under every host.
#[test]
fn full_run_measures_every_program() {
    if std::env::var_os("MPWASM_FULL").is_none() {
        eprintln!("skipped: the full benchmark runs with MPWASM_FULL=1 (cargo xtask ci --full)");
        return;
    }
    // After the quick run, not beside it: two benchmarks at once would
    // measure each other.
    quick_report();
    let out = repo_root().join("target/bench-test-full");
    xtask(&["bench", "--out", out.to_str().unwrap()]);
    let report = read_json(&out.join("report.json"));
    let problems = problems(&report, &FULL);
    assert!(problems.is_empty(), "report.json:\n  {}", problems.join("\n  "));
    let skipped = report["perf"]["skipped"].as_array().unwrap();
    assert!(skipped.iter().all(|s| s.as_str().unwrap().starts_with("viper_")), "{skipped:?}");
    let programs = report["perf"]["programs"].as_array().unwrap();
    assert!(programs.len() >= 15, "only {} perf_bench programs ran", programs.len());
}

#[test]
fn a_regression_against_the_baseline_fails_with_a_diff() {
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
    for metric in ["size.standard-size.command.gzip", "perf.standard-size/wasmtime.geomean"] {
        assert!(stdout.contains(&format!("| {metric} |")), "{metric} not in the diff:\n{stdout}");
    }
    assert!(stdout.contains("+25.0% | ❌ regression |"), "{stdout}");
    assert!(stderr.contains("regressions over 5.0%"), "{stderr}");

    // Against itself nothing regressed; a loose threshold passes too.
    let same = xtask(&["bench", "--baseline", current.to_str().unwrap(), "--current", current.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&same.stdout).contains("No regressions"));
    let args = ["bench", "--baseline", doctored.to_str().unwrap(), "--current", current.to_str().unwrap()];
    xtask(&[args.as_slice(), &["--fail-over", "30%"]].concat());
}
