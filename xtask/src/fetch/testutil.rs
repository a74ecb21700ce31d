//! Test fixtures: archives built on the fly and a tiny HTTP/1.1 server on
//! 127.0.0.1 that serves them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::local::tests::mpconfig_h;
use super::pin::{Mirror, SourcePin};

pub const VERSION: &str = "1.26.1";
pub const TOP: &str = "micropython-1.26.1";

/// One archive member. Paths and link targets are written verbatim (the
/// `tar` builder would refuse the hostile ones).
#[derive(Clone, Copy)]
pub enum Item<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    CharDevice(&'a str),
}

pub fn tar_xz(items: &[Item]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        let (kind, path, link, data): (_, _, &str, &[u8]) = match *item {
            Item::File(path, data) => (tar::EntryType::Regular, path, "", data),
            Item::Dir(path) => (tar::EntryType::Directory, path, "", b""),
            Item::Symlink(path, target) => (tar::EntryType::Symlink, path, target, b""),
            Item::Hardlink(path, target) => (tar::EntryType::Link, path, target, b""),
            Item::CharDevice(path) => (tar::EntryType::Char, path, "", b""),
        };
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
        header.set_mtime(1_700_000_000);
        let raw = header.as_old_mut();
        raw.name[..path.len()].copy_from_slice(path.as_bytes());
        raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&tar).unwrap();
    xz.finish().unwrap()
}

/// A minimal MicroPython release archive of `version` under `top`, plus `extra`.
pub fn mp_archive_of(top: &str, version: &str, extra: &[Item]) -> Vec<u8> {
    let mpconfig = mpconfig_h(version);
    let mpconfig_path = format!("{top}/py/mpconfig.h");
    let qstr_path = format!("{top}/py/makeqstrdata.py");
    let top_slash = format!("{top}/");
    let py = format!("{top}/py/");
    let mut items = vec![
        Item::Dir(&top_slash),
        Item::Dir(&py),
        Item::File(&mpconfig_path, mpconfig.as_bytes()),
        Item::File(&qstr_path, b"# qstr generator\n"),
    ];
    items.extend_from_slice(extra);
    tar_xz(&items)
}

pub fn mp_archive(extra: &[Item]) -> Vec<u8> {
    mp_archive_of(TOP, VERSION, extra)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A pin for `VERSION` with one mirror per `(url, sha256)`.
pub fn pin(mirrors: &[(&str, &str)]) -> SourcePin {
    SourcePin {
        version: VERSION.to_string(),
        mirrors: mirrors
            .iter()
            .enumerate()
            .map(|(i, (url, sha256))| Mirror {
                name: format!("mirror{i}"),
                url: url.to_string(),
                sha256: sha256.to_string(),
                top_dir: TOP.to_string(),
            })
            .collect(),
    }
}

/// A URL on a port nothing listens on: bound, then released.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/micropython.tar.xz")
}

#[derive(Clone)]
pub enum Reply {
    Body(Vec<u8>),
    Status(u16),
    /// Claims `claimed` bytes, sends `body`, then closes the connection.
    Truncated {
        body: Vec<u8>,
        claimed: usize,
    },
}

/// Serves fixed replies by path until dropped, for at most `LIFETIME` or
/// `MAX_REQUESTS`, whichever comes first, so a failing test cannot hang.
pub struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const LIFETIME: Duration = Duration::from_secs(60);
const MAX_REQUESTS: usize = 32;

impl Server {
    pub fn start(routes: Vec<(&'static str, Reply)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + LIFETIME;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if requests.fetch_add(1, Ordering::SeqCst) + 1 >= MAX_REQUESTS {
                                break;
                            }
                            serve(stream, &routes);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Server { base, requests, stop, thread: Some(thread) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, routes: &[(&'static str, Reply)]) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    let path = head.split_whitespace().nth(1).unwrap_or("");
    let reply = routes.iter().find(|(route, _)| *route == path).map(|(_, reply)| reply.clone());
    let (status, body, claimed) = match reply {
        Some(Reply::Body(body)) => (200, body.clone(), body.len()),
        Some(Reply::Truncated { body, claimed }) => (200, body, claimed),
        Some(Reply::Status(code)) => (code, b"error\n".to_vec(), 6),
        None => (404, b"not found\n".to_vec(), 10),
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/x-xz\r\nContent-Length: {claimed}\r\nConnection: close\r\n\r\n",
        match status {
            200 => "OK",
            404 => "Not Found",
            _ => "Error",
        }
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}
