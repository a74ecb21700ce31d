//! `cargo xtask doctor` and `cargo xtask setup`.

use anyhow::{bail, Context, Result};

use super::{install_hint, which, Toolchain, APT_PACKAGES};

/// Prints each requirement with its status and, if anything is missing, the
/// one command that installs it. Fails when something is missing.
pub fn doctor() -> Result<()> {
    let requirements = Toolchain::requirements();
    for requirement in &requirements {
        match &requirement.found {
            Some(path) => println!("ok       {} — {}", requirement.what, path.display()),
            None => println!("MISSING  {} — fix: {}", requirement.what, requirement.fix),
        }
    }
    for (tool, purpose) in [("node", "npm bundle and tests"), ("cc", "native mpy-cross and reference build")] {
        match which(tool) {
            Some(path) => println!("ok       {tool} ({purpose}) — {}", path.display()),
            None => println!("missing  {tool} ({purpose}) — optional for the build itself"),
        }
    }
    if requirements.iter().any(|r| r.found.is_none()) {
        bail!("toolchain incomplete; install it with `cargo xtask setup` or: {}", install_hint());
    }
    println!("toolchain complete: {}", Toolchain::detect()?.clang_version());
    Ok(())
}

/// Installs the Debian toolchain packages if any requirement is missing.
pub fn setup() -> Result<()> {
    ensure_installed()?;
    let python = super::python::tools_python()?;
    println!("Python tools: {}", python.display());
    Ok(())
}

/// Installs what is missing when that is possible here (root with apt-get),
/// otherwise stops with the exact command to run.
pub fn ensure_installed() -> Result<()> {
    if Toolchain::requirements().iter().all(|r| r.found.is_some()) {
        return Ok(());
    }
    if std::env::var_os("WASI_SDK_PATH").is_some() {
        // Names each missing piece and its fix; apt-get cannot help here.
        return Toolchain::detect().map(drop);
    }
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false);
    if !is_root || which("apt-get").is_none() {
        bail!("the wasm toolchain is missing; install it with:\n  sudo sh -c '{}'", install_hint());
    }
    eprintln!("installing the wasm toolchain: {}", install_hint());
    let sh = xshell::Shell::new()?;
    let packages = APT_PACKAGES;
    // A fresh machine's package lists may be empty or stale: update first.
    xshell::cmd!(sh, "apt-get update -qq").run().context("apt-get update failed")?;
    xshell::cmd!(sh, "apt-get install -y -qq --no-install-recommends {packages...}")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
        .with_context(|| format!("installing the toolchain failed; try by hand: {}", install_hint()))?;
    Toolchain::detect().map(|_| ())
}
