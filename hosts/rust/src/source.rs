//! The WebAssembly modules a sandbox runs, named for the caches.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// A WebAssembly module to run: one of the embedded ones, or a WASI command
/// module the caller supplied.
#[derive(Debug, Clone)]
pub(crate) struct ModuleSource {
    pub name: Cow<'static, str>,
    pub bytes: Cow<'static, [u8]>,
    /// Identifies the bytes in the in-process and on-disk caches.
    pub digest: Cow<'static, str>,
}

impl ModuleSource {
    pub(crate) fn embedded(name: &'static str, bytes: &'static [u8], sha256: &'static str) -> ModuleSource {
        ModuleSource { name: Cow::Borrowed(name), bytes: Cow::Borrowed(bytes), digest: Cow::Borrowed(sha256) }
    }

    /// A module read at run time. Its digest is a 64-bit SipHash rather than
    /// a SHA-256, which is plenty to tell a user's files apart in a cache.
    pub(crate) fn external(name: String, bytes: Vec<u8>) -> ModuleSource {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        let digest = format!("sip{:016x}", hasher.finish());
        ModuleSource { name: Cow::Owned(name), bytes: Cow::Owned(bytes), digest: Cow::Owned(digest) }
    }
}
