//! The fetch stage end to end, against a server on 127.0.0.1.

use std::fs;
use std::path::Path;

use super::testutil::{mp_archive, mp_archive_of, pin, refused_url, sha256_hex, Item, Reply, Server, TOP, VERSION};
use super::*;

const ONLINE: Options = Options { offline: false, progress: false };
const OFFLINE: Options = Options { offline: true, progress: false };

/// Names of everything in `dir`, empty if it does not exist.
fn listing(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<_> = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn assert_nothing_cached(cache: &Path) {
    assert_eq!(listing(&cache.join("src")), Vec::<String>::new(), "no tree or staging dir is left");
    assert_eq!(listing(&cache.join("archives")), Vec::<String>::new(), "no archive or partial download is left");
}

fn failures(err: FetchError) -> Vec<Failure> {
    match err {
        FetchError::AllMirrorsFailed { failures, .. } => failures,
        other => panic!("expected every mirror to fail, got {other}"),
    }
}

#[test]
fn downloads_extracts_and_then_reuses_the_cache_without_network() {
    let archive = mp_archive(&[Item::File("micropython-1.26.1/py/obj.c", b"int x;\n")]);
    let sha = sha256_hex(&archive);
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![("/mp.tar.xz", Reply::Body(archive))]);
    let url = server.url("/mp.tar.xz");
    let pin = pin(&[(&url, &sha)]);

    let tree = fetch_pinned(&pin, cache.path(), ONLINE).unwrap();
    assert_eq!(tree.root, cache.path().join("src").join(&sha));
    assert_eq!(tree.version, VERSION);
    assert!(matches!(&tree.origin, SourceOrigin::Archive { url: u, sha256 } if *u == url && *sha256 == sha));
    assert_eq!(fs::read(tree.root.join("py/obj.c")).unwrap(), b"int x;\n");
    let marker = fs::read_to_string(tree.root.join(".mpwasm-source")).unwrap();
    assert!(marker.contains(&sha) && marker.contains(VERSION), "{marker}");
    assert_eq!(listing(&cache.path().join("archives")), [format!("{sha}.tar.xz")]);
    assert_eq!(listing(&cache.path().join("src")), std::slice::from_ref(&sha), "the staging dir is gone");
    assert_eq!(server.requests(), 1);
    drop(server);
    // Without the archive, only the finished tree can satisfy the next calls.
    fs::remove_file(cache.path().join("archives").join(format!("{sha}.tar.xz"))).unwrap();

    let again = fetch_pinned(&pin, cache.path(), ONLINE).unwrap();
    assert_eq!(again.root, tree.root);
    let offline = fetch_pinned(&pin, cache.path(), OFFLINE).unwrap();
    assert_eq!(offline.root, tree.root);
}

#[test]
fn a_kept_archive_rebuilds_the_tree_offline() {
    let archive = mp_archive(&[]);
    let sha = sha256_hex(&archive);
    let cache = tempfile::tempdir().unwrap();
    fs::create_dir_all(cache.path().join("archives")).unwrap();
    fs::write(cache.path().join("archives").join(format!("{sha}.tar.xz")), &archive).unwrap();

    let tree = fetch_pinned(&pin(&[(&refused_url(), &sha)]), cache.path(), OFFLINE).unwrap();
    assert!(tree.root.join("py/mpconfig.h").is_file());
}

#[test]
fn falls_back_past_refused_and_missing_mirrors() {
    let archive = mp_archive(&[]);
    let sha = sha256_hex(&archive);
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![
        ("/gone.tar.xz", Reply::Status(404)),
        ("/broken.tar.xz", Reply::Status(500)),
        ("/good.tar.xz", Reply::Body(archive)),
    ]);
    let refused = refused_url();
    let (gone, broken, good) = (server.url("/gone.tar.xz"), server.url("/broken.tar.xz"), server.url("/good.tar.xz"));
    let pin = pin(&[(&refused, &sha), (&gone, &sha), (&broken, &sha), (&good, &sha)]);

    let tree = fetch_pinned(&pin, cache.path(), ONLINE).unwrap();
    assert!(matches!(&tree.origin, SourceOrigin::Archive { url, .. } if *url == good));
    assert_eq!(server.requests(), 3);
}

#[test]
fn when_every_mirror_fails_each_is_reported_with_what_to_do() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![("/gone.tar.xz", Reply::Status(404))]);
    let (refused, gone) = (refused_url(), server.url("/gone.tar.xz"));
    let sha = "0".repeat(64);
    let err = fetch_pinned(&pin(&[(&refused, &sha), (&gone, &sha)]), cache.path(), ONLINE).unwrap_err();
    let message = err.to_string();

    assert!(message.contains(&format!("fetching micropython {VERSION} from {refused}: ")), "{message}");
    assert!(message.contains(&format!("fetching micropython {VERSION} from {gone}: HTTP 404 Not Found")), "{message}");
    for hint in ["network", "--source DIR", "MPWASM_SOURCE_DIR"] {
        assert!(message.contains(hint), "`{hint}` missing from: {message}");
    }
    assert!(message.contains(&cache.path().join("archives").join(format!("{sha}.tar.xz")).display().to_string()));
    let failures = failures(err);
    assert!(matches!(failures[0].error, SourceError::Download(DownloadError::Transport(_))));
    assert!(matches!(failures[1].error, SourceError::Download(DownloadError::Status { code: 404, .. })));
    assert_nothing_cached(cache.path());
}

#[test]
fn a_checksum_mismatch_names_the_url_and_both_hashes_and_caches_nothing() {
    let archive = mp_archive(&[]);
    let actual = sha256_hex(&archive);
    let expected = sha256_hex(b"some other archive");
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![("/mp.tar.xz", Reply::Body(archive))]);
    let url = server.url("/mp.tar.xz");

    let message = fetch_pinned(&pin(&[(&url, &expected)]), cache.path(), ONLINE).unwrap_err().to_string();
    let wanted =
        format!("fetching micropython {VERSION} from {url}: sha256 mismatch (expected {expected}, got {actual})");
    assert!(message.contains(&wanted), "{message}");
    assert_nothing_cached(cache.path());
}

#[test]
fn a_truncated_body_is_detected_and_nothing_is_cached() {
    let archive = mp_archive(&[]);
    let sha = sha256_hex(&archive);
    let half = archive[..archive.len() / 2].to_vec();
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![("/mp.tar.xz", Reply::Truncated { body: half.clone(), claimed: archive.len() })]);

    let err = fetch_pinned(&pin(&[(&server.url("/mp.tar.xz"), &sha)]), cache.path(), ONLINE).unwrap_err();
    let failures = failures(err);
    assert!(
        matches!(failures[0].error, SourceError::Download(DownloadError::Truncated { got, expected })
            if got == half.len() as u64 && expected == archive.len() as u64),
        "{:?}",
        failures[0].error
    );
    assert_nothing_cached(cache.path());
}

#[test]
fn an_archive_with_a_parent_dir_entry_is_rejected_and_writes_nothing_outside() {
    let archive = mp_archive(&[Item::File("micropython-1.26.1/../evil", b"pwned"), Item::File("../evil", b"pwned")]);
    let sha = sha256_hex(&archive);
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![("/mp.tar.xz", Reply::Body(archive))]);

    let err = fetch_pinned(&pin(&[(&server.url("/mp.tar.xz"), &sha)]), cache.path(), ONLINE).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("unsafe archive entry `micropython-1.26.1/../evil`"), "{message}");
    assert!(matches!(
        &failures(err)[0].error,
        SourceError::Extract(ExtractError::Unsafe { reason: extract::UnsafeReason::ParentComponent, .. })
    ));
    assert!(!cache.path().join("evil").exists() && !cache.path().join("src/evil").exists());
    assert_nothing_cached(cache.path());
}

#[test]
fn an_archive_with_an_escaping_symlink_is_rejected() {
    let archive = mp_archive(&[Item::Symlink("micropython-1.26.1/py/secrets", "../../../../etc")]);
    let sha = sha256_hex(&archive);
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![("/mp.tar.xz", Reply::Body(archive))]);

    let err = fetch_pinned(&pin(&[(&server.url("/mp.tar.xz"), &sha)]), cache.path(), ONLINE).unwrap_err();
    assert!(matches!(
        &failures(err)[0].error,
        SourceError::Extract(ExtractError::Unsafe { reason: extract::UnsafeReason::LinkEscapes(_), .. })
    ));
    assert_nothing_cached(cache.path());
}

#[test]
fn an_archive_of_another_release_is_rejected() {
    let archive = mp_archive_of(TOP, "1.25.0", &[]);
    let sha = sha256_hex(&archive);
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![("/mp.tar.xz", Reply::Body(archive))]);

    let err = fetch_pinned(&pin(&[(&server.url("/mp.tar.xz"), &sha)]), cache.path(), ONLINE).unwrap_err();
    assert!(err.to_string().contains("holds MicroPython 1.25.0, but the pin says 1.26.1"), "{err}");
    assert_nothing_cached(cache.path());
}

#[test]
fn a_cache_dir_without_marker_is_not_trusted_and_gets_replaced() {
    let archive = mp_archive(&[]);
    let sha = sha256_hex(&archive);
    let cache = tempfile::tempdir().unwrap();
    // What a crash halfway through an older, non-atomic extraction leaves.
    let half = cache.path().join("src").join(&sha);
    fs::create_dir_all(half.join("py")).unwrap();
    fs::write(half.join("py/half-written.c"), "int").unwrap();

    let offline = fetch_pinned(&pin(&[(&refused_url(), &sha)]), cache.path(), OFFLINE).unwrap_err();
    assert!(matches!(offline, FetchError::Offline { .. }), "{offline}");

    let server = Server::start(vec![("/mp.tar.xz", Reply::Body(archive))]);
    let tree = fetch_pinned(&pin(&[(&server.url("/mp.tar.xz"), &sha)]), cache.path(), ONLINE).unwrap();
    assert_eq!(server.requests(), 1);
    assert_eq!(tree.root, half);
    assert!(!half.join("py/half-written.c").exists());
    assert!(half.join("py/mpconfig.h").is_file() && half.join(".mpwasm-source").is_file());
    assert_eq!(listing(&cache.path().join("src")), [sha], "the stale tree was removed, not set aside");
}

#[test]
fn offline_with_an_empty_cache_fails_clearly() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![]);
    let sha = "1".repeat(64);
    let err = fetch_pinned(&pin(&[(&server.url("/mp.tar.xz"), &sha)]), cache.path(), OFFLINE).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, FetchError::Offline { .. }));
    assert!(message.starts_with("--offline: the cache at"), "{message}");
    assert!(message.contains(&cache.path().display().to_string()), "{message}");
    assert!(message.contains("Run without --offline") && message.contains("--source DIR"), "{message}");
    assert!(message.contains(&format!("{sha}.tar.xz")), "{message}");
    assert_eq!(server.requests(), 0, "offline means no request at all");
}

#[test]
fn a_local_source_dir_is_used_as_is() {
    let dir = tempfile::tempdir().unwrap();
    local::tests::write_tree(dir.path(), "1.27.0");
    let args = FetchArgs { source_dir: Some(dir.path().to_path_buf()), ..FetchArgs::default() };
    let tree = run(&args).unwrap();
    assert_eq!(tree.root, dir.path().canonicalize().unwrap());
    assert_eq!(tree.version, "1.27.0", "a version other than the pin's is only warned about");
    assert!(matches!(tree.origin, SourceOrigin::LocalDir));
}

#[test]
fn a_local_source_dir_that_is_not_micropython_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("py")).unwrap();
    fs::write(dir.path().join("py/mpconfig.h"), "").unwrap();
    let args = FetchArgs { source_dir: Some(dir.path().to_path_buf()), ..FetchArgs::default() };
    let message = format!("{:#}", run(&args).unwrap_err());
    assert!(message.contains(&dir.path().display().to_string()), "{message}");
    assert!(message.contains("missing py/makeqstrdata.py"), "{message}");
    assert!(!message.contains("missing py/mpconfig.h"), "{message}");

    let missing = dir.path().join("nope");
    let args = FetchArgs { source_dir: Some(missing.clone()), ..FetchArgs::default() };
    let message = format!("{:#}", run(&args).unwrap_err());
    assert!(message.contains(&missing.display().to_string()), "{message}");
}

#[test]
fn a_broken_pin_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let pin_path = dir.path().join("source.toml");
    fs::write(&pin_path, "version = \"1.26.1\"\nmirrors = []\n").unwrap();
    let args = FetchArgs { pin: Some(pin_path.clone()), offline: true, ..FetchArgs::default() };
    let message = format!("{:#}", run(&args).unwrap_err());
    assert!(message.contains(&pin_path.display().to_string()), "{message}");
    assert!(message.contains("unknown field `mirrors`"), "{message}");
}
