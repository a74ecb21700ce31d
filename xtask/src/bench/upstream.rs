//! The peer: upstream MicroPython's own WebAssembly build as published on npm
//! (Emscripten), at a pinned version whose tarball must match the pinned
//! `dist.integrity` before it is unpacked.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha512};

use crate::project;

pub const PACKAGE: &str = "@micropython/micropython-webassembly-pyscript";
pub const VERSION: &str = "1.27.0";
/// `dist.integrity` of the pinned version, as the registry published it.
pub const INTEGRITY: &str =
    "sha512-DnXx4EqxgkeaFESrS3uKrL7mLMk4mRTd0mMzaOd3HUSiZUOAE7t11uLnjf3ftF87N2xm4knHnWEKcVK4IYIUDA==";

pub struct Upstream {
    /// Unpacked package: `micropython.mjs`, `micropython.wasm`.
    pub dir: PathBuf,
}

/// Reuses the unpacked package from the cache, or downloads and verifies it.
pub fn fetch() -> Result<Upstream> {
    let dir = project::cache_root().join("peers").join(format!("micropython-webassembly-pyscript-{VERSION}"));
    if dir.join("micropython.wasm").is_file() && dir.join("micropython.mjs").is_file() {
        return Ok(Upstream { dir });
    }
    // npm's own client: it honours the machine's registry, proxy and CA
    // settings. The integrity is still checked here, against the pin.
    let download = tempfile::tempdir()?;
    let spec = format!("{PACKAGE}@{VERSION}");
    let out = Command::new("npm")
        .args(["pack", &spec, "--silent", "--pack-destination"])
        .arg(download.path())
        .output()
        .with_context(|| format!("running `npm pack {spec}`"))?;
    if !out.status.success() {
        bail!("fetching {spec} with `npm pack`: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let name = String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or_default().to_owned();
    let tarball_path = download.path().join(&name);
    let tarball = fs::read(&tarball_path).with_context(|| format!("reading {}", tarball_path.display()))?;
    let got = integrity_of(&tarball);
    if got != INTEGRITY {
        bail!("fetching {spec}: integrity mismatch (expected {INTEGRITY}, got {got})");
    }
    let parent = dir.parent().expect("a cache folder");
    fs::create_dir_all(parent)?;
    let staging = tempfile::tempdir_in(parent)?;
    tar::Archive::new(flate2::read::GzDecoder::new(&tarball[..]))
        .unpack(staging.path())
        .with_context(|| format!("unpacking {PACKAGE} {VERSION}"))?;
    let unpacked = staging.path().join("package");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::rename(&unpacked, &dir).with_context(|| format!("installing {}", dir.display()))?;
    Ok(Upstream { dir })
}

/// Subresource-integrity string of `bytes`, as npm writes it.
fn integrity_of(bytes: &[u8]) -> String {
    format!("sha512-{}", base64(&Sha512::digest(bytes)))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (i, b)| word | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(word >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_matches_npm_format() {
        // echo -n abc | openssl dgst -sha512 -binary | base64
        assert_eq!(
            integrity_of(b"abc"),
            "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
