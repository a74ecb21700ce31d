//! `cargo xtask serve`: a small static file server for `dist/web/` on
//! localhost. By default it sends the two headers that make the page
//! cross-origin isolated (so `input()` can block the Worker on a
//! SharedArrayBuffer); `--plain` leaves them out, as an ordinary static host
//! would. The benchmark and the page's tests serve through the same code.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::project;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Folder to serve (default: dist/web, written by `cargo xtask dist`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Leave out Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy.
    #[arg(long)]
    pub plain: bool,
}

pub fn run(args: &ServeArgs) -> Result<()> {
    let root = args.dir.clone().unwrap_or_else(|| project::dist_root().join("web"));
    let server = Server::bind(&root, args.port, !args.plain)?;
    let isolation = if args.plain {
        "plain headers: input() is off in the page"
    } else {
        "cross-origin isolated (COOP/COEP headers)"
    };
    // The first line names the address: tests read it to find a port 0 server.
    println!("serving {} at http://{}/ ({isolation}); Ctrl+C stops", root.display(), server.addr());
    server.run()
}

/// A bound listener and the folder it serves.
pub struct Server {
    listener: TcpListener,
    root: PathBuf,
    isolated: bool,
}

impl Server {
    pub fn bind(root: &Path, port: u16, isolated: bool) -> Result<Server> {
        if !root.join("index.html").is_file() {
            bail!("{} has no index.html: build the web bundle first with `cargo xtask dist`", root.display());
        }
        let root = root.canonicalize().with_context(|| format!("resolving {}", root.display()))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .with_context(|| format!("listening on 127.0.0.1:{port} (is the port taken? try --port 0)"))?;
        Ok(Server { listener, root, isolated })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until the process ends, one thread a connection (a browser
    /// opens a few at once; a stalled one must not hold up the rest).
    pub fn run(self) -> Result<()> {
        for stream in self.listener.incoming() {
            let Ok(stream) = stream else { continue };
            let root = self.root.clone();
            let isolated = self.isolated;
            std::thread::spawn(move || {
                let _ = serve_connection(stream, &root, isolated);
            });
        }
        Ok(())
    }

    /// Serves from a background thread; the server lives as long as the process.
    pub fn spawn(self) -> SocketAddr {
        let addr = self.addr();
        std::thread::spawn(move || self.run());
        addr
    }
}

/// Answers the requests of one keep-alive connection.
fn serve_connection(stream: TcpStream, root: &Path, isolated: bool) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Each response is one write; Nagle's algorithm would hold its tail
    // back for the client's delayed acknowledgement (tens of milliseconds).
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        // Headers are read and dropped: nothing here depends on them.
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim_end().is_empty() {
                break;
            }
        }
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let response = respond(method, target, root);
        let mut head = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
             X-Content-Type-Options: nosniff\r\n",
            response.status,
            response.content_type,
            response.body.len()
        );
        if isolated {
            head.push_str("Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if method != "HEAD" {
            bytes.extend_from_slice(&response.body);
        }
        writer.write_all(&bytes)?;
    }
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

fn respond(method: &str, target: &str, root: &Path) -> Response {
    let text = |status, body: &str| Response { status, content_type: "text/plain; charset=utf-8", body: body.into() };
    if method != "GET" && method != "HEAD" {
        return text("405 Method Not Allowed", "only GET and HEAD\n");
    }
    let Some(file) = resolve(root, target) else {
        return text("404 Not Found", "not found\n");
    };
    match fs::read(&file) {
        Ok(body) => Response { status: "200 OK", content_type: content_type(&file), body },
        Err(_) => text("404 Not Found", "not found\n"),
    }
}

/// The file a request path names inside `root`, or None for anything that
/// would leave it (`..`, absolute parts, encoded separators).
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let path = percent_decode(path.strip_prefix('/')?)?;
    let mut file = root.to_path_buf();
    for component in Path::new(&path).components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    // A symbolic link inside the folder must not lead out of it.
    let real = file.canonicalize().ok()?;
    real.starts_with(root).then_some(real)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    (!decoded.contains(['\\', '\0'])).then_some(decoded)
}

/// Streaming compilation needs `application/wasm`; module scripts need a
/// JavaScript type (nosniff makes browsers hold us to it).
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|ext| ext.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        // LICENSE, README: shown, not downloaded.
        "txt" | "md" | "" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        fs::create_dir(dir.path().join("lib")).unwrap();
        fs::write(dir.path().join("lib/m.wasm"), b"\0asm").unwrap();
        fs::write(dir.path().join("LICENSE"), "MIT").unwrap();
        dir
    }

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn serves_files_with_their_types_and_the_isolation_headers() {
        let dir = site();
        let addr = Server::bind(dir.path(), 0, true).unwrap().spawn();
        let page = get(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("Content-Type: text/html"));
        assert!(page.contains("Cross-Origin-Embedder-Policy: require-corp"));
        assert!(page.ends_with("<!doctype html>"));
        let wasm = get(addr, "GET /lib/m.wasm?v=1 HTTP/1.1\r\n\r\n");
        assert!(wasm.contains("Content-Type: application/wasm") && wasm.contains("Content-Length: 4"), "{wasm}");
        assert!(get(addr, "GET /LICENSE HTTP/1.1\r\n\r\n").contains("Content-Type: text/plain"));
    }

    #[test]
    fn plain_mode_sends_no_isolation_headers() {
        let dir = site();
        let addr = Server::bind(dir.path(), 0, false).unwrap().spawn();
        let page = get(addr, "GET /index.html HTTP/1.1\r\n\r\n");
        assert!(page.starts_with("HTTP/1.1 200 OK") && !page.contains("Cross-Origin"), "{page}");
    }

    #[test]
    fn nothing_outside_the_folder_is_served() {
        let dir = site();
        let addr = Server::bind(&dir.path().join("lib").parent().unwrap().join("."), 0, true).unwrap().spawn();
        for target in ["/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/lib/../../x", "/missing.js", "/%zz"] {
            let response = get(addr, &format!("GET {target} HTTP/1.1\r\n\r\n"));
            assert!(response.starts_with("HTTP/1.1 404"), "{target}: {response}");
        }
        assert!(get(addr, "POST / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    }

    #[test]
    fn a_folder_without_a_page_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = Server::bind(dir.path(), 0, true).err().unwrap().to_string();
        assert!(error.contains("cargo xtask dist"), "{error}");
    }
}
