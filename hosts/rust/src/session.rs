//! A persistent interpreter: one instance of the library module running
//! snippet after snippet.

use std::sync::Arc;

use crate::abi::EXEC_SINGLE;
use crate::error::Error;
use crate::interpreter::Interpreter;
use crate::output::Output;
use crate::settings::Settings;

/// One MicroPython interpreter that keeps its globals, imports and objects
/// from one snippet to the next, made by [`Sandbox::session`](crate::Sandbox::session).
///
/// Each snippet gets the sandbox's fuel budget and timeout afresh, and its
/// own captured output; so does starting the interpreter (and
/// [`reset`](Session::reset)). An uncaught exception or `SystemExit` leaves the
/// interpreter usable. A limit or a trap interrupts it at an arbitrary
/// instruction, so the session then refuses to run more code
/// ([`Error::SessionStopped`]) until [`reset`](Session::reset) starts a new
/// interpreter.
///
/// ```no_run
/// let sandbox = micropython_wasm::Sandbox::new()?;
/// let mut session = sandbox.session()?;
/// session.run("counter = 41")?;
/// assert_eq!(session.run("counter += 1\nprint(counter)")?.stdout, "42\n");
/// # Ok::<(), micropython_wasm::Error>(())
/// ```
pub struct Session {
    settings: Arc<Settings>,
    interpreter: Option<Interpreter>,
    stopped_by: Option<String>,
}

impl Session {
    pub(crate) fn start(settings: Arc<Settings>) -> Result<Session, Error> {
        let interpreter = Interpreter::start(&settings)?;
        Ok(Session { settings, interpreter: Some(interpreter), stopped_by: None })
    }

    /// Runs `code` as more of the `__main__` module; see
    /// [`Sandbox::run`](crate::Sandbox::run) for what the result means.
    pub fn run(&mut self, code: &str) -> Result<Output, Error> {
        self.exec(code, 0)
    }

    /// Runs one REPL input: like [`run`](Session::run), but the value of an
    /// expression statement is printed (`repr`), as at the `>>>` prompt.
    pub fn run_interactive(&mut self, input: &str) -> Result<Output, Error> {
        self.exec(input, EXEC_SINGLE)
    }

    /// True if `input` is an unfinished statement (an open bracket, a
    /// compound statement without its closing blank line) that a REPL should
    /// keep reading before running it.
    pub fn needs_more_input(&mut self, input: &str) -> Result<bool, Error> {
        let interpreter = self.live()?;
        interpreter.arm();
        interpreter.needs_more_input(input)
    }

    /// True once a limit or a trap has stopped the interpreter; see
    /// [`reset`](Session::reset).
    pub fn is_stopped(&self) -> bool {
        self.interpreter.is_none()
    }

    /// Replaces the interpreter with a fresh one: all state is lost, and a
    /// stopped session runs again.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.interpreter = None;
        self.interpreter = Some(Interpreter::start(&self.settings)?);
        self.stopped_by = None;
        Ok(())
    }

    fn exec(&mut self, code: &str, flags: u32) -> Result<Output, Error> {
        let interpreter = self.live()?;
        interpreter.arm();
        let result = interpreter.exec(code, flags);
        if let Err(error) = &result {
            if error.stops_the_interpreter() {
                self.interpreter = None;
                self.stopped_by = Some(error.to_string());
            }
        }
        result
    }

    fn live(&mut self) -> Result<&mut Interpreter, Error> {
        match &mut self.interpreter {
            Some(interpreter) => Ok(interpreter),
            None => Err(Error::SessionStopped {
                cause: self.stopped_by.clone().unwrap_or_else(|| "a failed reset".to_owned()),
            }),
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("stopped_by", &self.stopped_by).finish_non_exhaustive()
    }
}
