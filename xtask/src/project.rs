//! Where things live: the repository, the shared cache and the generated trees.

use std::path::{Path, PathBuf};

/// Name used for cache folders and environment variables.
pub const TOOL_NAME: &str = "mpwasm";

/// Root of this repository (the workspace that holds `xtask/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Cache shared by every checkout on this machine: fetched sources and
/// compiled objects survive `git clean` and fresh CI clones.
///
/// `MPWASM_CACHE_DIR` overrides it; otherwise `$XDG_CACHE_HOME/mpwasm` or
/// `$HOME/.cache/mpwasm`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MPWASM_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join(TOOL_NAME)
}

/// Generated bundles (`dist/wasi`, `dist/npm`, ...). Never committed.
/// `MPWASM_DIST_DIR` puts them elsewhere (the tests of a failing `dist`
/// use a folder of their own rather than the checkout's).
pub fn dist_root() -> PathBuf {
    std::env::var_os("MPWASM_DIST_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("dist"))
}

/// Intermediate build products of this checkout (objects, generated headers).
pub fn build_root() -> PathBuf {
    std::env::var_os("MPWASM_BUILD_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("build"))
}

/// True when progress bars and colour would only clutter a log.
pub fn quiet_output() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("CI").is_some_and(|v| v == "true" || v == "1") || !std::io::stderr().is_terminal()
}
