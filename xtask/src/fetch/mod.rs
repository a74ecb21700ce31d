//! Stage 1, fetch: the pinned MicroPython sources, downloaded once,
//! checksum-verified before extraction and kept in a content-addressed cache
//! (see `cache.rs` for the layout); or a local checkout given with `--source`.

mod cache;
mod download;
mod extract;
mod local;
mod pin;
#[cfg(test)]
mod pin_fuzz;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::project;
use cache::SourceCache;
use download::DownloadError;
use extract::ExtractError;
use local::TreeError;
use pin::{Mirror, SourcePin};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct FetchArgs {
    /// Use a local MicroPython source tree instead of downloading.
    #[arg(long = "source", env = "MPWASM_SOURCE_DIR", value_name = "DIR")]
    pub source_dir: Option<PathBuf>,
    /// Source pin to use (default: micropython/source.toml).
    #[arg(long, value_name = "FILE")]
    pub pin: Option<PathBuf>,
    /// Never touch the network; fail if the cache lacks the pinned sources.
    #[arg(long)]
    pub offline: bool,
}

/// A MicroPython source tree ready to build from.
#[derive(Debug, Clone)]
pub struct SourceTree {
    pub root: PathBuf,
    pub version: String,
    pub origin: SourceOrigin,
}

#[derive(Debug, Clone)]
pub enum SourceOrigin {
    /// A pinned archive; `root` is its cache entry and must not be modified.
    Archive {
        url: String,
        sha256: String,
    },
    LocalDir,
}

impl fmt::Display for SourceOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceOrigin::Archive { url, sha256 } => write!(f, "{url} (sha256 {sha256})"),
            SourceOrigin::LocalDir => f.write_str("a local directory"),
        }
    }
}

/// `cargo xtask fetch`: resolves the source tree and prints where it is
/// (the path alone on stdout, for scripts).
pub fn run(args: &FetchArgs) -> Result<SourceTree> {
    let pin_path = args.pin.clone().unwrap_or_else(pin::default_path);
    let pin = SourcePin::load(&pin_path)?;
    let tree = match &args.source_dir {
        Some(dir) => use_local(dir, &pin, &pin_path)?,
        None => {
            let options = Options { offline: args.offline, progress: !project::quiet_output() };
            fetch_pinned(&pin, &project::cache_root(), options)?
        }
    };
    eprintln!("micropython {} from {}", tree.version, tree.origin);
    println!("{}", tree.root.display());
    Ok(tree)
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub offline: bool,
    pub progress: bool,
}

/// Why one archive (a mirror, or a kept copy in the cache) could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error("sha256 mismatch (expected {expected}, got {actual})")]
    Checksum { expected: String, actual: String },
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("the archive is not a usable MicroPython tree: {0}")]
    NotMicroPython(#[from] TreeError),
    #[error("the archive holds MicroPython {found}, but the pin says {pinned}")]
    VersionMismatch { found: String, pinned: String },
    #[error("source cache {}: {source}", .path.display())]
    Cache { path: PathBuf, source: std::io::Error },
}

#[derive(Debug)]
pub struct Failure {
    /// The URL, or the path of a kept archive.
    pub from: String,
    pub error: SourceError,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("could not fetch micropython {version} from any mirror:{}\n{}", list(.version, .failures), remedy(.archives))]
    AllMirrorsFailed { version: String, failures: Vec<Failure>, archives: Vec<(String, PathBuf)> },
    #[error("--offline: the cache at {} holds no usable micropython {version} sources{}\nRun without --offline to download them. {}",
        .cache.display(), list(.version, .failures), remedy(.archives))]
    Offline { version: String, cache: PathBuf, failures: Vec<Failure>, archives: Vec<(String, PathBuf)> },
}

fn list(version: &str, failures: &[Failure]) -> String {
    failures.iter().map(|f| format!("\n  fetching micropython {version} from {}: {}", f.from, f.error)).collect()
}

/// `archives` pairs each mirror URL with where its archive is looked for.
fn remedy(archives: &[(String, PathBuf)]) -> String {
    let places: String = archives.iter().map(|(url, path)| format!("\n  {url}\n    -> {}", path.display())).collect();
    format!(
        "Check the network connection, or build from a local MicroPython checkout with \
         `--source DIR` (or MPWASM_SOURCE_DIR=DIR), or download a pinned archive yourself \
         and place it in the cache:{places}"
    )
}

/// Resolves `pin` against the cache under `cache_root`, downloading only
/// when neither a finished tree nor a verified archive is there.
pub fn fetch_pinned(pin: &SourcePin, cache_root: &Path, options: Options) -> Result<SourceTree, FetchError> {
    let cache = SourceCache::new(cache_root);
    let version = &pin.version;
    let tree = |mirror: &Mirror, root| SourceTree {
        root,
        version: version.clone(),
        origin: SourceOrigin::Archive { url: mirror.url.clone(), sha256: mirror.sha256.clone() },
    };

    for mirror in &pin.mirrors {
        if let Some(root) = cache.lookup(&mirror.sha256, version) {
            eprintln!("micropython {version}: using the cached tree {}", root.display());
            return Ok(tree(mirror, root));
        }
    }

    let mut failures = Vec::new();
    for mirror in &pin.mirrors {
        let kept = match cache.kept_archive(&mirror.sha256) {
            Ok(Some(path)) => path,
            Ok(None) => continue,
            Err(source) => {
                let path = cache.archive_path(&mirror.sha256);
                failures.push(Failure { from: path.display().to_string(), error: SourceError::Cache { path, source } });
                continue;
            }
        };
        eprintln!("micropython {version}: extracting the cached archive {}", kept.display());
        match install(&cache, pin, mirror, &kept) {
            Ok(root) => return Ok(tree(mirror, root)),
            Err(error) => failures.push(Failure { from: kept.display().to_string(), error }),
        }
    }

    let archives = pin.mirrors.iter().map(|m| (m.url.clone(), cache.archive_path(&m.sha256))).collect();
    if options.offline {
        return Err(FetchError::Offline {
            version: version.clone(),
            cache: cache_root.to_path_buf(),
            failures,
            archives,
        });
    }

    for mirror in &pin.mirrors {
        eprintln!("micropython {version}: downloading {}", mirror.url);
        match download_and_install(&cache, pin, mirror, options.progress) {
            Ok(root) => return Ok(tree(mirror, root)),
            Err(error) => {
                eprintln!("warning: fetching micropython {version} from {}: {error}", mirror.url);
                failures.push(Failure { from: mirror.url.clone(), error });
            }
        }
    }
    Err(FetchError::AllMirrorsFailed { version: version.clone(), failures, archives })
}

fn download_and_install(
    cache: &SourceCache,
    pin: &SourcePin,
    mirror: &Mirror,
    progress: bool,
) -> Result<PathBuf, SourceError> {
    let label = format!("micropython {}", pin.version);
    let downloaded = download::download(&mirror.url, &cache.archives_dir(), &label, progress)?;
    if downloaded.sha256 != mirror.sha256 {
        return Err(SourceError::Checksum { expected: mirror.sha256.clone(), actual: downloaded.sha256 });
    }
    let root = install(cache, pin, mirror, downloaded.file.path())?;
    // The tree is usable without the archive, so failing to keep it only
    // costs a download later.
    if let Err(err) = cache.keep_archive(downloaded.file, &mirror.sha256) {
        eprintln!("warning: could not keep {}: {err}", cache.archive_path(&mirror.sha256).display());
    }
    Ok(root)
}

/// Extracts a verified archive into the cache.
fn install(cache: &SourceCache, pin: &SourcePin, mirror: &Mirror, archive: &Path) -> Result<PathBuf, SourceError> {
    let cache_error = |source| SourceError::Cache { path: cache.tree_path(&mirror.sha256), source };
    let staging = cache.stage(&mirror.sha256).map_err(cache_error)?;
    extract::extract_tar_xz(archive, &mirror.top_dir, &staging.tree())?;
    let found = local::version_of(&staging.tree())?;
    if found != pin.version {
        return Err(SourceError::VersionMismatch { found, pinned: pin.version.clone() });
    }
    cache.commit(staging, &mirror.sha256, &pin.version).map_err(cache_error)
}

fn use_local(dir: &Path, pin: &SourcePin, pin_path: &Path) -> Result<SourceTree> {
    let context = || format!("using the local MicroPython source {} (--source / MPWASM_SOURCE_DIR)", dir.display());
    let root = dir.canonicalize().with_context(context)?;
    let version = local::version_of(&root).with_context(context)?;
    if version != pin.version {
        eprintln!(
            "warning: {} holds MicroPython {version}, but {} pins {}; building it anyway",
            root.display(),
            pin_path.display(),
            pin.version
        );
    }
    Ok(SourceTree { root, version, origin: SourceOrigin::LocalDir })
}
