//! The on-disk cache of compiled code: `Module::serialize` output, one file
//! per module, engine configuration and wasmtime version, so a fresh process
//! loads native code instead of running Cranelift.
//!
//! Each entry carries the SHA-256 of the compiled code, written with it and
//! checked before the code is loaded: wasmtime checks an artifact's header
//! and version but not its machine code, so a flipped byte on disk would
//! otherwise be run (and crash the process with SIGILL on every start).

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::error::Error;
use crate::source::ModuleSource;

/// Environment variable naming the cache folder; empty turns the cache off.
pub const CACHE_DIR_ENV: &str = "MICROPYTHON_WASM_CACHE_DIR";

/// Where compiled code is kept unless the sandbox says otherwise:
/// `$MICROPYTHON_WASM_CACHE_DIR`, else `$XDG_CACHE_HOME/micropython-wasm`,
/// else `$HOME/.cache/micropython-wasm`; `None` if the variable is set but
/// empty, or no home is known.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = var(CACHE_DIR_ENV) {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let base = var("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("micropython-wasm"))
}

/// The file that holds `source` compiled by `engine`. The name carries
/// everything that makes compiled code incompatible: the module's digest,
/// the engine's instrumentation (`tag`), and wasmtime's own compatibility
/// hash (its version, target CPU features and compilation settings).
fn entry_path(dir: &Path, engine: &Engine, tag: &str, source: &ModuleSource) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = &source.digest[..source.digest.len().min(16)];
    dir.join(format!("{}-{digest}-wasmtime{}-{tag}-{:016x}.cwasm", source.name, WASMTIME_MAJOR, hasher.finish()))
}

/// The wasmtime release this crate is built against (see Cargo.toml).
const WASMTIME_MAJOR: u32 = 48;

/// What an entry starts with: this format, then the SHA-256 of the compiled
/// code that follows. Entries written before checksums lack it, and are
/// recompiled like damaged ones.
const MAGIC: &[u8; 16] = b"mpwasm-cwasm-v1\n";

/// `source` compiled by `engine` (whose instrumentation `tag` names), from
/// the cache in `dir` when it holds an intact entry, else compiled and
/// written there.
pub(crate) fn load_or_compile(
    engine: &Engine,
    tag: &str,
    source: &ModuleSource,
    dir: Option<&Path>,
) -> Result<Module, Error> {
    let Some(dir) = dir else {
        return Ok(Module::new(engine, &source.bytes)?);
    };
    let path = entry_path(dir, engine, tag, source);
    if let Some(module) = load(engine, &path) {
        return Ok(module);
    }
    let module = Module::new(engine, &source.bytes)?;
    // The cache only saves time: failing to write or prune it is not an error.
    if store(&path, &entry(&module.serialize()?)).is_ok() {
        let _ = prune(dir);
    }
    Ok(module)
}

/// The module in the entry at `path`, if there is one and it is intact.
fn load(engine: &Engine, path: &Path) -> Option<Module> {
    // Read rather than memory-mapped: the bytes checked are the bytes loaded,
    // whatever happens to the file meanwhile.
    let bytes = fs::read(path).ok()?;
    let code = verified(&bytes)?;
    // SAFETY: `code` is what this crate wrote with `Module::serialize` for
    // an engine of the same configuration, as its checksum shows. wasmtime
    // checks the header and version itself and refuses anything else, which
    // falls through to recompiling. Whoever can write the cache folder can
    // run native code in this process (the checksum detects damage, not
    // forgery): keep it private, as wasmtime's own cache requires.
    unsafe { Module::deserialize(engine, code) }.ok()
}

/// An entry holding `code`: [`MAGIC`], its SHA-256, then the code.
fn entry(code: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(MAGIC.len() + 32 + code.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&Sha256::digest(code));
    entry.extend_from_slice(code);
    entry
}

/// The compiled code of `entry`, if its checksum matches.
fn verified(entry: &[u8]) -> Option<&[u8]> {
    let (sum, code) = entry.strip_prefix(MAGIC)?.split_at_checked(32)?;
    (Sha256::digest(code).as_slice() == sum).then_some(code)
}

/// Entries kept in a cache folder: enough for both modules under every
/// engine kind, twice over (another version of this crate on the machine).
const MAX_ENTRIES: usize = 16;

/// Deletes all but the [`MAX_ENTRIES`] most recently written entries, so
/// that new module versions do not pile up.
fn prune(dir: &Path) -> std::io::Result<()> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "cwasm") {
            entries.push((fs::metadata(&path)?.modified()?, path));
        }
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    for (_, path) in entries.into_iter().skip(MAX_ENTRIES) {
        fs::remove_file(path)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that
/// readers (other processes included) see the old file or the new one.
fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache entries live in a folder");
    fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let temp = path.with_extension(format!("{}-{nanos}.partial", std::process::id()));
    fs::write(&temp, bytes)?;
    fs::rename(&temp, path).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(vars: &[(&str, &str)]) -> Option<PathBuf> {
        cache_dir_from(|name| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| OsString::from(value)))
    }

    #[test]
    fn an_entry_is_checked_before_use() {
        let code = b"compiled code".repeat(100);
        let good = entry(&code);
        assert_eq!(verified(&good), Some(&code[..]));
        for at in [0, MAGIC.len(), MAGIC.len() + 32, good.len() - 1] {
            let mut damaged = good.clone();
            damaged[at] ^= 0x20;
            assert_eq!(verified(&damaged), None, "byte {at} flipped");
        }
        assert_eq!(verified(&good[..good.len() - 1]), None, "cut short");
        assert_eq!(verified(&code), None, "no checksum");
    }

    #[test]
    fn pruning_keeps_the_newest_entries() {
        let dir = std::env::temp_dir().join(format!("micropython-wasm-prune-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let start = std::time::SystemTime::now() - std::time::Duration::from_secs(1000);
        for i in 0..MAX_ENTRIES + 3 {
            let path = dir.join(format!("entry-{i:02}.cwasm"));
            fs::write(&path, b"x").unwrap();
            let file = fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(start + std::time::Duration::from_secs(i as u64)).unwrap();
        }
        fs::write(dir.join("unrelated.txt"), b"kept").unwrap();
        prune(&dir).unwrap();
        let mut left: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left.len(), MAX_ENTRIES + 1);
        assert_eq!(left[0], "entry-03.cwasm", "the three oldest went");
        assert!(left.contains(&"unrelated.txt".to_owned()));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_folder_follows_the_environment() {
        assert_eq!(dir_with(&[("HOME", "/home/u")]), Some(PathBuf::from("/home/u/.cache/micropython-wasm")));
        let xdg = [("HOME", "/home/u"), ("XDG_CACHE_HOME", "/xdg")];
        assert_eq!(dir_with(&xdg), Some(PathBuf::from("/xdg/micropython-wasm")));
        assert_eq!(dir_with(&[("HOME", "/home/u"), (CACHE_DIR_ENV, "/elsewhere")]), Some(PathBuf::from("/elsewhere")));
        assert_eq!(dir_with(&[("HOME", "/home/u"), (CACHE_DIR_ENV, "")]), None);
        assert_eq!(dir_with(&[]), None);
    }
}
