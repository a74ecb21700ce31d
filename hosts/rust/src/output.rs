//! What a run printed: the capped in-memory streams that capture it, and
//! the stderr that streams it to this process's own.

use std::fmt;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::errno;

/// What a run printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Everything written to stdout (empty when the sandbox streams to this
    /// process's own stdout). Bytes that are not UTF-8 are replaced with U+FFFD.
    pub stdout: String,
    /// Everything written to stderr, tracebacks included.
    pub stderr: String,
    /// The exit status a process would report: 0, or
    /// [`Error::exit_code`](crate::Error::exit_code) of the error that carries
    /// this output.
    pub exit_code: i32,
    /// Fuel the run consumed, when fuel metering is on
    /// ([`SandboxBuilder::fuel`](crate::SandboxBuilder::fuel)).
    pub fuel_consumed: Option<u64>,
}

/// One of the two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// One captured stream: a buffer that refuses to grow past its limit by
/// trapping the guest, so a flood of output ends the run at once instead of
/// being silently dropped while the code keeps running.
#[derive(Clone)]
pub(crate) struct Capture {
    shared: Arc<Mutex<Captured>>,
}

struct Captured {
    stream: Stream,
    bytes: Vec<u8>,
    limit: usize,
    exceeded: bool,
}

impl Capture {
    pub(crate) fn new(stream: Stream, limit: usize) -> Capture {
        Capture { shared: Arc::new(Mutex::new(Captured { stream, bytes: Vec::new(), limit, exceeded: false })) }
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes what was written since the last call, and whether the limit was hit.
    pub(crate) fn take(&self) -> (String, bool) {
        let mut captured = self.lock();
        let bytes = std::mem::take(&mut captured.bytes);
        let exceeded = std::mem::replace(&mut captured.exceeded, false);
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
        };
        (text, exceeded)
    }

    pub(crate) fn exceeded(&self) -> Option<(Stream, usize)> {
        let captured = self.lock();
        captured.exceeded.then_some((captured.stream, captured.limit))
    }

    /// Appends what fits; false if something did not.
    fn append(&self, bytes: &[u8]) -> bool {
        let mut captured = self.lock();
        let room = captured.limit - captured.bytes.len();
        let fits = bytes.len() <= room;
        captured.bytes.extend_from_slice(&bytes[..bytes.len().min(room)]);
        captured.exceeded |= !fits;
        fits
    }
}

/// The trap a [`Capture`] raises when its limit is exceeded.
#[derive(Debug)]
pub(crate) struct OutputLimitExceeded(Stream);

impl fmt::Display for OutputLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} exceeded its capture limit", self.0)
    }
}

impl std::error::Error for OutputLimitExceeded {}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if self.append(&bytes) {
            Ok(())
        } else {
            let stream = self.lock().stream;
            Err(StreamError::Trap(wasmtime::Error::new(OutputLimitExceeded(stream))))
        }
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept a whole chunk: `write` decides whether it fits.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(if self.append(buf) {
            Ok(buf.len())
        } else {
            Err(io::Error::new(io::ErrorKind::StorageFull, "output limit exceeded"))
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// This process's stderr, written through as the guest writes, with the
/// explanation of an `OSError` of errno 76 ([`errno`]) added on the line after
/// it: the guest's own bytes are passed on unchanged.
#[derive(Clone, Default)]
pub(crate) struct InheritedStderr {
    /// The start of the line being written: enough to recognise the line.
    line: Arc<Mutex<Vec<u8>>>,
}

/// How much of a line [`InheritedStderr`] keeps to recognise it.
const LINE_START: usize = 64;

impl InheritedStderr {
    fn put(&self, bytes: &[u8]) -> io::Result<()> {
        let mut stderr = io::stderr().lock();
        stderr.write_all(bytes)?;
        let mut line = self.line.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for &byte in bytes {
            if byte != b'\n' {
                if line.len() < LINE_START {
                    line.push(byte);
                }
                continue;
            }
            if let Some(note) = errno::explain_line(&String::from_utf8_lossy(&line)) {
                writeln!(stderr, "({note})")?;
            }
            line.clear();
        }
        Ok(())
    }
}

impl IsTerminal for InheritedStderr {
    fn is_terminal(&self) -> bool {
        io::IsTerminal::is_terminal(&io::stderr())
    }
}

impl StdoutStream for InheritedStderr {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for InheritedStderr {
    async fn ready(&mut self) {}
}

impl OutputStream for InheritedStderr {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.put(&bytes).map_err(|err| StreamError::LastOperationFailed(err.into()))
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        io::stderr().flush().map_err(|err| StreamError::LastOperationFailed(err.into()))
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Writes block until done, as wasmtime-wasi's own inherited stderr.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for InheritedStderr {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(self.put(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(io::stderr().flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
