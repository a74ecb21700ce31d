//! The interactive REPL, driven through a pseudo-terminal as a person would
//! type into it: prompts, echoed values, continuation lines, history,
//! errors, a limit, and the exit status.
#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The CLI running on the slave side of a pty; the test holds the master.
struct Terminal {
    child: Child,
    input: File,
    screen: Arc<Mutex<Vec<u8>>>,
    /// How much of `screen` earlier expectations consumed.
    seen: usize,
}

impl Terminal {
    fn start(args: &[&str], history: &Path) -> Terminal {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two new descriptors into the integers.
        let status = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        assert_eq!(status, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here alone.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut command = Command::new(env!("CARGO_BIN_EXE_micropython-wasm"));
        command
            .args(args)
            .env("TERM", "xterm")
            .env("MICROPYTHON_WASM_HISTORY", history)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe; the child gets the
        // pty as its controlling terminal, as a login shell would.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = command.spawn().expect("the CLI starts");
        let mut output = File::from(master.try_clone().unwrap());
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n @ 1..) = output.read(&mut buffer) {
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Terminal { child, input: File::from(master), screen, seen: 0 }
    }

    fn type_keys(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).unwrap();
    }

    /// Waits until `text` appears after what earlier calls consumed.
    fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned();
            if let Some(at) = screen[self.seen.min(screen.len())..].find(text) {
                self.seen += at + text.len();
                return;
            }
            assert!(Instant::now() < deadline, "never saw {text:?}; the terminal shows:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn exit_status(mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the REPL did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_repl_session_with_history_and_exit_status() {
    let home = tempfile::tempdir().unwrap();
    let history = home.path().join("history");
    let mut term = Terminal::start(&[], &history);
    term.expect("MicroPython");
    term.expect(">>> ");
    term.type_keys("x = 6 * 7\r");
    term.expect(">>> ");
    term.type_keys("x\r");
    term.expect("42\r\n");
    term.expect(">>> ");
    term.type_keys("for i in range(2):\r");
    term.expect("... ");
    term.type_keys("    print('loop', i)\r");
    term.expect("... ");
    term.type_keys("\r");
    term.expect("loop 0\r\nloop 1\r\n");
    term.expect(">>> ");
    term.type_keys("x + 1\r");
    term.expect("43\r\n");
    term.expect(">>> ");
    // Up arrow recalls the last line.
    term.type_keys("\x1b[A\r");
    term.expect("43\r\n");
    term.expect(">>> ");
    term.type_keys("1/0\r");
    term.expect("ZeroDivisionError");
    term.expect(">>> ");
    term.type_keys("import sys; sys.exit(3)\r");
    assert_eq!(term.exit_status(), 3);
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("x + 1") && saved.contains("sys.exit(3)"), "{saved}");
}

#[test]
fn pasted_lines_are_all_run() {
    let home = tempfile::tempdir().unwrap();
    let mut term = Terminal::start(&[], &home.path().join("history"));
    term.expect(">>> ");
    term.type_keys("def f(n):\r    return n + 1\r\rprint(f(41))\r");
    term.expect("42\r\n");
    term.expect(">>> ");
    term.type_keys("\x04");
    assert_eq!(term.exit_status(), 0);
}

#[test]
fn ctrl_d_ends_the_repl_cleanly() {
    let home = tempfile::tempdir().unwrap();
    let mut term = Terminal::start(&[], &home.path().join("history"));
    term.expect(">>> ");
    term.type_keys("\x04");
    assert_eq!(term.exit_status(), 0);
}

#[test]
fn a_limit_restarts_the_interpreter() {
    let home = tempfile::tempdir().unwrap();
    let mut term = Terminal::start(&["--fuel", "5000000"], &home.path().join("history"));
    term.expect(">>> ");
    term.type_keys("kept = 1\r");
    term.expect(">>> ");
    term.type_keys("while True: pass\r");
    term.expect("... ");
    term.type_keys("\r");
    term.expect("out of fuel");
    term.expect("restarted");
    term.expect(">>> ");
    term.type_keys("kept\r");
    term.expect("NameError");
    term.expect(">>> ");
    term.type_keys("\x04");
    assert_eq!(term.exit_status(), 0);
}
