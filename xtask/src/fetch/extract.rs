//! Safe extraction of a `.tar.xz` source archive.
//!
//! The archive's checksum is pinned, but a pin is only as good as whoever
//! wrote it, so every entry is checked before it is written (paths stay
//! inside the tree, nothing is written through a symlink, device files are
//! refused) and every symlink once the tree is complete. The caller extracts
//! into a staging directory, so a rejected archive leaves nothing behind.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("unsafe archive entry `{entry}`: {reason}")]
    Unsafe { entry: String, reason: UnsafeReason },
    #[error("archive entry `{entry}` is not under the declared top_dir `{top_dir}`")]
    OutsideTopDir { entry: String, top_dir: String },
    #[error("archive has no entries under the declared top_dir `{0}`")]
    EmptyTopDir(String),
    #[error("extracting `{entry}`: {source}")]
    Io { entry: String, source: io::Error },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeReason {
    #[error("absolute path")]
    AbsolutePath,
    #[error("path contains `..`")]
    ParentComponent,
    #[error("link target `{0}` leaves the source tree")]
    LinkEscapes(String),
    #[error("path goes through the symlink `{0}`")]
    ThroughSymlink(String),
    #[error("device file or fifo")]
    Device,
    #[error("unsupported entry type {0}")]
    Unsupported(String),
}

/// Extracts the `top_dir/` of the archive at `archive` into `dest` (which
/// must not exist yet), so `top_dir/py/obj.c` lands at `dest/py/obj.c`.
pub fn extract_tar_xz(archive: &Path, top_dir: &str, dest: &Path) -> Result<(), ExtractError> {
    let at_archive = |source| ExtractError::Io { entry: archive.display().to_string(), source };
    let file = fs::File::open(archive).map_err(at_archive)?;
    fs::create_dir(dest).map_err(|source| ExtractError::Io { entry: dest.display().to_string(), source })?;

    let mut tar = tar::Archive::new(xz2::read::XzDecoder::new(io::BufReader::new(file)));
    let mut symlinks = Vec::new();
    let mut wrote_any = false;
    for entry in tar.entries().map_err(at_archive)? {
        let mut entry = entry.map_err(at_archive)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let io_err = |source| ExtractError::Io { entry: name.clone(), source };
        let unsafe_entry = |reason| ExtractError::Unsafe { entry: name.clone(), reason };

        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader) {
            continue;
        }
        let path = entry.path().map_err(io_err)?.into_owned();
        let Some(rel) = strip_top_dir(&path, top_dir).map_err(unsafe_entry)? else {
            return Err(ExtractError::OutsideTopDir { entry: name, top_dir: top_dir.to_string() });
        };
        if rel.as_os_str().is_empty() {
            continue; // the top_dir itself, or `./`
        }
        let target = dest.join(&rel);
        if let Some(parent) = rel.parent() {
            refuse_symlinks_along(dest, parent).map_err(unsafe_entry)?;
            fs::create_dir_all(dest.join(parent)).map_err(io_err)?;
        }

        match kind {
            EntryType::Directory => {
                if let Ok(meta) = fs::symlink_metadata(&target) {
                    if meta.file_type().is_symlink() {
                        return Err(unsafe_entry(UnsafeReason::ThroughSymlink(rel.display().to_string())));
                    }
                }
                fs::create_dir_all(&target).map_err(io_err)?;
            }
            // `unpack` replaces an existing file or symlink rather than
            // writing through it.
            EntryType::Regular | EntryType::Continuous => {
                entry.unpack(&target).map_err(io_err)?;
            }
            EntryType::Symlink => {
                // Checked once the whole tree exists (see below).
                entry.unpack(&target).map_err(io_err)?;
                symlinks.push(rel);
            }
            EntryType::Link => {
                // Hard link targets are archive paths, not relative to the entry.
                let link = entry.link_name().map_err(io_err)?.unwrap_or_default().into_owned();
                let escapes = || unsafe_entry(UnsafeReason::LinkEscapes(link.display().to_string()));
                let source_rel = strip_top_dir(&link, top_dir).map_err(|_| escapes())?.ok_or_else(escapes)?;
                if let Some(parent) = source_rel.parent() {
                    refuse_symlinks_along(dest, parent).map_err(unsafe_entry)?;
                }
                let source = dest.join(&source_rel);
                if !fs::symlink_metadata(&source).is_ok_and(|m| m.file_type().is_file()) {
                    let missing = format!("hard link target `{}` is not a file extracted before it", link.display());
                    return Err(io_err(io::Error::new(io::ErrorKind::NotFound, missing)));
                }
                if fs::symlink_metadata(&target).is_ok() {
                    fs::remove_file(&target).map_err(io_err)?;
                }
                fs::hard_link(&source, &target).map_err(io_err)?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => return Err(unsafe_entry(UnsafeReason::Device)),
            other => return Err(unsafe_entry(UnsafeReason::Unsupported(format!("{other:?}")))),
        }
        wrote_any = true;
    }
    if !wrote_any {
        return Err(ExtractError::EmptyTopDir(top_dir.to_string()));
    }
    // Symlinks are checked against the finished tree: one that looks
    // contained when written can escape through a symlink created after it
    // (`a -> d/e/../..` then `d -> .`).
    for link in symlinks {
        if let Err(reason) = resolve_within(dest, &link) {
            return Err(ExtractError::Unsafe { entry: format!("{top_dir}/{}", link.display()), reason });
        }
    }
    Ok(())
}

/// The path below `top_dir`, `None` if it lies elsewhere in the archive.
fn strip_top_dir(path: &Path, top_dir: &str) -> Result<Option<PathBuf>, UnsafeReason> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(UnsafeReason::ParentComponent),
            Component::RootDir | Component::Prefix(_) => return Err(UnsafeReason::AbsolutePath),
        }
    }
    match parts.split_first() {
        Some((first, rest)) if *first == top_dir => Ok(Some(rest.iter().collect())),
        // `./`, as written by `tar -C dir .`
        None => Ok(Some(PathBuf::new())),
        Some(_) => Ok(None),
    }
}

/// Writing below an existing symlink could land anywhere, so no entry may.
fn refuse_symlinks_along(dest: &Path, rel_dir: &Path) -> Result<(), UnsafeReason> {
    let mut at = dest.to_path_buf();
    for part in rel_dir.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(UnsafeReason::ThroughSymlink(at.strip_prefix(dest).unwrap_or(&at).display().to_string()));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// Resolves the symlink at `dest/rel`, following further symlinks inside
/// the tree, and fails if any step leaves `dest`. Missing components are
/// fine (a dangling link inside the tree is harmless).
fn resolve_within(dest: &Path, rel: &Path) -> Result<(), UnsafeReason> {
    const MAX_LINKS: usize = 40;
    let original = fs::read_link(dest.join(rel)).unwrap_or_default();
    let escapes = || UnsafeReason::LinkEscapes(original.display().to_string());
    // Steps still to walk, last first; `None` is `..`.
    let mut pending = Vec::new();
    push_steps(&mut pending, rel).map_err(|()| escapes())?;
    let mut resolved = PathBuf::new();
    let mut followed = 0;
    while let Some(step) = pending.pop() {
        let Some(part) = step else {
            if !resolved.pop() {
                return Err(escapes());
            }
            continue;
        };
        resolved.push(part);
        if let Ok(target) = fs::read_link(dest.join(&resolved)) {
            followed += 1;
            if followed > MAX_LINKS {
                return Err(escapes());
            }
            resolved.pop();
            push_steps(&mut pending, &target).map_err(|()| escapes())?;
        }
    }
    Ok(())
}

fn push_steps(pending: &mut Vec<Option<std::ffi::OsString>>, path: &Path) -> Result<(), ()> {
    for component in path.components().rev() {
        match component {
            Component::Normal(part) => pending.push(Some(part.to_os_string())),
            Component::CurDir => {}
            Component::ParentDir => pending.push(None),
            Component::RootDir | Component::Prefix(_) => return Err(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::testutil::{tar_xz, Item, TOP};

    /// Extracts `items` into `<tmp>/work/tree`; the archive sits at `<tmp>`.
    fn extract(items: &[Item]) -> (tempfile::TempDir, PathBuf, Result<(), ExtractError>) {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("a.tar.xz");
        fs::write(&archive, tar_xz(items)).unwrap();
        fs::create_dir(tmp.path().join("work")).unwrap();
        let dest = tmp.path().join("work").join("tree");
        let result = extract_tar_xz(&archive, TOP, &dest);
        (tmp, dest, result)
    }

    fn unsafe_reason(result: Result<(), ExtractError>) -> UnsafeReason {
        match result {
            Err(ExtractError::Unsafe { reason, .. }) => reason,
            other => panic!("expected an unsafe-entry error, got {other:?}"),
        }
    }

    fn files_named(root: &Path, name: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in fs::read_dir(root).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == name) {
                found.push(path.clone());
            }
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                found.extend(files_named(&path, name));
            }
        }
        found
    }

    #[test]
    fn strips_the_top_dir_and_keeps_links_inside_the_tree() {
        let (_tmp, dest, result) = extract(&[
            Item::Dir("micropython-1.26.1/"),
            Item::File("micropython-1.26.1/py/obj.c", b"obj"),
            Item::Dir("./"),
            Item::File("./micropython-1.26.1/README", b"readme"),
            Item::Symlink("micropython-1.26.1/py/alias.c", "obj.c"),
            Item::Symlink("micropython-1.26.1/docs/up", "../py"),
            Item::Hardlink("micropython-1.26.1/py/copy.c", "micropython-1.26.1/py/obj.c"),
        ]);
        result.unwrap();
        assert_eq!(fs::read(dest.join("py/obj.c")).unwrap(), b"obj");
        assert_eq!(fs::read(dest.join("README")).unwrap(), b"readme");
        assert_eq!(fs::read(dest.join("py/alias.c")).unwrap(), b"obj");
        assert_eq!(fs::read(dest.join("docs/up/obj.c")).unwrap(), b"obj");
        assert_eq!(fs::read(dest.join("py/copy.c")).unwrap(), b"obj");
        assert!(!dest.join(TOP).exists());
    }

    #[test]
    fn parent_components_are_rejected_before_writing() {
        for path in ["../evil", "micropython-1.26.1/../../evil", "micropython-1.26.1/py/../../../evil"] {
            let (tmp, _dest, result) =
                extract(&[Item::File("micropython-1.26.1/ok.c", b""), Item::File(path, b"pwned")]);
            assert_eq!(unsafe_reason(result), UnsafeReason::ParentComponent, "{path}");
            assert_eq!(files_named(tmp.path(), "evil"), Vec::<PathBuf>::new(), "{path}");
        }
    }

    #[test]
    fn absolute_paths_are_rejected() {
        let outside = tempfile::tempdir().unwrap();
        let evil = outside.path().join("evil");
        let (_tmp, _dest, result) = extract(&[Item::File(evil.to_str().unwrap(), b"pwned")]);
        assert_eq!(unsafe_reason(result), UnsafeReason::AbsolutePath);
        assert!(!evil.exists());
    }

    #[test]
    fn symlinks_out_of_the_tree_are_rejected() {
        for target in ["../../outside", "/etc/passwd", "../py/../../x"] {
            let (_tmp, _dest, result) = extract(&[Item::Symlink("micropython-1.26.1/py/link", target)]);
            assert!(matches!(unsafe_reason(result), UnsafeReason::LinkEscapes(t) if t == target), "{target}");
        }
    }

    #[test]
    fn symlinks_escaping_through_later_symlinks_are_rejected() {
        let (_tmp, _dest, result) = extract(&[
            Item::Dir("micropython-1.26.1/e/"),
            Item::Symlink("micropython-1.26.1/a", "d/e/../.."),
            Item::Symlink("micropython-1.26.1/d", "."),
        ]);
        assert_eq!(unsafe_reason(result), UnsafeReason::LinkEscapes("d/e/../..".into()));
    }

    #[test]
    fn nothing_is_written_through_a_symlink() {
        let (tmp, _dest, result) = extract(&[
            Item::Dir("micropython-1.26.1/sub/"),
            Item::Symlink("micropython-1.26.1/link", "sub"),
            Item::File("micropython-1.26.1/link/evil", b"pwned"),
        ]);
        assert_eq!(unsafe_reason(result), UnsafeReason::ThroughSymlink("link".into()));
        assert_eq!(files_named(tmp.path(), "evil"), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_file_replacing_a_symlink_does_not_write_through_it() {
        let (_tmp, dest, result) = extract(&[
            Item::File("micropython-1.26.1/keep.c", b"original"),
            Item::Symlink("micropython-1.26.1/link", "keep.c"),
            Item::File("micropython-1.26.1/link", b"replacement"),
        ]);
        result.unwrap();
        assert_eq!(fs::read(dest.join("keep.c")).unwrap(), b"original");
        assert_eq!(fs::read(dest.join("link")).unwrap(), b"replacement");
        assert!(!fs::symlink_metadata(dest.join("link")).unwrap().file_type().is_symlink());
    }

    #[test]
    fn hard_links_out_of_the_tree_are_rejected() {
        for target in ["/etc/passwd", "../x", "other/x", "micropython-1.26.1/../x"] {
            let (_tmp, _dest, result) =
                extract(&[Item::File("micropython-1.26.1/a.c", b""), Item::Hardlink("micropython-1.26.1/h", target)]);
            assert!(matches!(unsafe_reason(result), UnsafeReason::LinkEscapes(t) if t == target), "{target}");
        }
    }

    #[test]
    fn device_files_are_rejected() {
        let (_tmp, dest, result) = extract(&[Item::CharDevice("micropython-1.26.1/dev/null")]);
        assert_eq!(unsafe_reason(result), UnsafeReason::Device);
        assert!(!dest.join("dev/null").exists());
    }

    #[test]
    fn entries_outside_the_top_dir_are_rejected() {
        let (_tmp, _dest, result) =
            extract(&[Item::File("micropython-1.26.1/a.c", b""), Item::File("micropython-9/b.c", b"")]);
        assert!(matches!(result, Err(ExtractError::OutsideTopDir { entry, .. }) if entry == "micropython-9/b.c"));
    }

    #[test]
    fn an_archive_without_the_top_dir_contents_is_rejected() {
        let (_tmp, _dest, result) = extract(&[Item::Dir("micropython-1.26.1/")]);
        assert!(matches!(result, Err(ExtractError::EmptyTopDir(top)) if top == TOP));
    }
}
