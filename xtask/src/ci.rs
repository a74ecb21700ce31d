//! `cargo xtask ci`: what CI runs. If this passes here, CI is green.

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::{project, toolchain};

#[derive(clap::Args, Debug, Clone)]
pub struct CiArgs {
    /// Also run the slow suites (the whole MicroPython test suite under GC
    /// torture, the full benchmark). CI runs them when MPWASM_FULL=1.
    #[arg(long, env = "MPWASM_FULL")]
    pub full: bool,
}

/// Debian packages the tests drive besides the build toolchain: a browser
/// for the npm bundle's page test.
const TEST_PACKAGES: &[(&str, &str)] = &[("chromium", "/usr/bin/chromium")];

pub fn run(args: &CiArgs) -> Result<()> {
    toolchain::ensure_installed()?;
    install_test_tools()?;
    let sh = Shell::new()?;
    sh.change_dir(project::repo_root());
    let _full = args.full.then(|| sh.push_env("MPWASM_FULL", "1"));
    cmd!(sh, "cargo test --workspace --no-fail-fast").run().context("the test suite failed")?;
    Ok(())
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
