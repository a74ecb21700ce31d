//! `cargo xtask ci`: what CI runs. If this passes here, CI is green.

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::{project, toolchain};

#[derive(clap::Args, Debug, Clone)]
pub struct CiArgs {}

pub fn run(_args: &CiArgs) -> Result<()> {
    toolchain::ensure_installed()?;
    let sh = Shell::new()?;
    sh.change_dir(project::repo_root());
    cmd!(sh, "cargo test --workspace").run().context("the test suite failed")?;
    Ok(())
}
