//! HTTP download of one archive into a temporary file, hashed as it streams.

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

/// A stalled mirror should fail over quickly, but a slow one must be allowed
/// to finish: only the connect and the gap between reads are bounded.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("HTTP {code} {reason}")]
    Status { code: u16, reason: String },
    #[error("{0}")]
    Transport(String),
    #[error("truncated download: got {got} of {expected} bytes")]
    Truncated { expected: u64, got: u64 },
    #[error("reading the response: {0}")]
    Read(io::Error),
    #[error("writing {path}: {source}", path = .path.display())]
    Write { path: std::path::PathBuf, source: io::Error },
}

/// The complete body of a response, not yet checked against any pin.
pub struct Downloaded {
    pub file: NamedTempFile,
    pub sha256: String,
}

/// Streams `url` into a new temporary file inside `dir` (so a later rename
/// into the cache stays on one filesystem).
pub fn download(url: &str, dir: &Path, label: &str, show_progress: bool) -> Result<Downloaded, DownloadError> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .try_proxy_from_env(true)
        .user_agent(concat!("mpwasm-xtask/", env!("CARGO_PKG_VERSION")))
        .build();
    let response = agent.get(url).call().map_err(|err| match err {
        ureq::Error::Status(code, response) => {
            DownloadError::Status { code, reason: response.status_text().to_string() }
        }
        ureq::Error::Transport(transport) => DownloadError::Transport(describe(&transport)),
    })?;

    // With a Content-Encoding the header counts encoded bytes, not the ones
    // we read, so it only sizes the progress bar for identity bodies.
    let identity = response.header("Content-Encoding").is_none_or(|e| e.eq_ignore_ascii_case("identity"));
    let expected_len =
        response.header("Content-Length").and_then(|v| v.trim().parse::<u64>().ok()).filter(|_| identity);

    let write_err = |source| DownloadError::Write { path: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let mut file = tempfile::Builder::new().prefix(".download-").suffix(".part").tempfile_in(dir).map_err(write_err)?;

    let bar = progress_bar(expected_len, label, show_progress);
    let mut reader = response.into_reader();
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            // ureq enforces Content-Length and reports a body that ends early
            // this way.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                bar.abandon();
                return Err(DownloadError::Truncated { expected: expected_len.unwrap_or(0), got });
            }
            Err(err) => {
                bar.abandon();
                return Err(DownloadError::Read(err));
            }
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|source| DownloadError::Write { path: file.path().to_path_buf(), source })?;
        got += n as u64;
        bar.set_position(got);
    }
    bar.finish_and_clear();
    file.as_file().sync_all().map_err(|source| DownloadError::Write { path: file.path().to_path_buf(), source })?;
    Ok(Downloaded { file, sha256: hex::encode(hasher.finalize()) })
}

/// "Connection Failed: Connect error: Connection refused (os error 111)",
/// without repeating the URL the caller already names.
fn describe(transport: &ureq::Transport) -> String {
    let mut text = transport.kind().to_string();
    if let Some(message) = transport.message() {
        text.push_str(": ");
        text.push_str(message);
    }
    let mut source = std::error::Error::source(transport);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn progress_bar(len: Option<u64>, label: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .expect("static template")
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}").expect("static template"),
        ),
    };
    bar.set_message(label.to_string());
    bar
}
