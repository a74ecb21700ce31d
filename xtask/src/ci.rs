//! `cargo xtask ci`: what CI runs. If this passes here, CI is green.
//!
//! Two tiers. The quick tier is `cargo test --workspace`: every unit test and
//! every integration test that builds and runs a real module. The full tier
//! (MPWASM_FULL=1) adds the slow suites: all nine variant × profile builds,
//! MicroPython's whole test suite under GC torture with every perf_bench
//! program in a 1 MiB heap, and the full benchmark. CI runs the full tier
//! whenever `.ci/full-suite` changes (it names the issues a submission
//! closes), so each issue gets one full run without every push paying for it.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use crate::{project, toolchain};

#[derive(clap::Args, Debug, Clone)]
pub struct CiArgs {
    /// Also run the slow suites (all variants and profiles, the whole
    /// MicroPython test suite under GC torture, the full benchmark).
    #[arg(long, env = "MPWASM_FULL")]
    pub full: bool,
}

/// Debian packages the tests drive besides the build toolchain: a browser
/// for the npm bundle's page test.
const TEST_PACKAGES: &[(&str, &str)] = &[("chromium", "/usr/bin/chromium")];

pub fn run(args: &CiArgs) -> Result<()> {
    toolchain::ensure_installed()?;
    install_test_tools()?;
    let full_run_marker = full_run_marker()?;
    let full = args.full || full_run_marker.as_ref().is_some_and(|marker| !marker.exists());
    eprintln!("running the {} test tier", if full { "full" } else { "quick" });

    let sh = Shell::new()?;
    sh.change_dir(project::repo_root());
    let _full = full.then(|| sh.push_env("MPWASM_FULL", "1"));
    // The full tier's own tests are #[ignore]d with the reason, so the
    // quick tier's counts say they did not run.
    let include_ignored: &[&str] = if full { &["--", "--include-ignored"] } else { &[] };
    cmd!(sh, "cargo test --workspace --no-fail-fast {include_ignored...}").run().context("the test suite failed")?;

    if let (true, Some(marker)) = (full, full_run_marker) {
        std::fs::create_dir_all(marker.parent().expect("the marker lives in a folder"))?;
        std::fs::write(&marker, b"").with_context(|| format!("recording the full run in {}", marker.display()))?;
    }
    Ok(())
}

/// Under CI, the file whose existence says the full tier already passed for
/// the current contents of `.ci/full-suite`; None outside CI.
fn full_run_marker() -> Result<Option<PathBuf>> {
    let in_ci = std::env::var_os("CI").is_some_and(|value| value == "true" || value == "1");
    if !in_ci {
        return Ok(None);
    }
    let request = project::repo_root().join(".ci/full-suite");
    let contents = std::fs::read(&request).with_context(|| format!("reading {}", request.display()))?;
    let digest = hex::encode(Sha256::digest(&contents));
    Ok(Some(project::cache_root().join("ci").join(format!("full-suite-{}.passed", &digest[..16]))))
}

fn install_test_tools() -> Result<()> {
    let missing: Vec<&str> = TEST_PACKAGES
        .iter()
        .filter(|(_, binary)| !std::path::Path::new(binary).exists())
        .map(|(pkg, _)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if toolchain::which("apt-get").is_none() {
        bail!("the tests need {}; install them with your package manager", missing.join(" "));
    }
    eprintln!("installing test tools: {}", missing.join(" "));
    let sh = Shell::new()?;
    let packages = &missing;
    let install = || -> Result<()> {
        cmd!(sh, "apt-get update -qq").run()?;
        cmd!(sh, "apt-get install -y -qq --no-install-recommends {packages...}")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .run()?;
        Ok(())
    };
    install().with_context(|| {
        format!("installing {} failed; run `apt-get install -y {}` as root", missing.join(" "), missing.join(" "))
    })
}
