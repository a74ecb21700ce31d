//! The interactive prompt: rustyline for editing and history, a
//! [`Session`](micropython_wasm::Session) for the interpreter.

use std::path::PathBuf;

use micropython_wasm::{Error, Sandbox, MICROPYTHON_VERSION};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

/// Environment variable naming the history file.
const HISTORY_ENV: &str = "MICROPYTHON_WASM_HISTORY";

/// Runs the REPL until end of input (`Ok`) or `SystemExit` (`Error::Exit`).
pub fn run(sandbox: Sandbox) -> Result<(), Error> {
    let mut session = sandbox.session()?;
    let mut editor = DefaultEditor::new().map_err(|err| Error::Config(format!("terminal: {err}")))?;
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    crate::say(format_args!("MicroPython {MICROPYTHON_VERSION} on wasmtime; Ctrl-D to exit"));
    let outcome = loop {
        let Some(input) = read_statement(&mut editor, &mut session)? else { break Ok(()) };
        if input.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(input.as_str());
        match session.run_interactive(&input) {
            // Output went straight to the terminal, tracebacks included.
            Ok(_) | Err(Error::Exception { .. }) => {}
            Err(exit @ Error::Exit { .. }) => break Err(exit),
            Err(error) => {
                crate::complain(&error);
                if session.is_stopped() {
                    session.reset()?;
                    crate::complain("the interpreter was restarted: its state is lost");
                }
            }
        }
    };
    if let Some(path) = &history {
        if let Some(folder) = path.parent() {
            let _ = std::fs::create_dir_all(folder);
        }
        let _ = editor.save_history(path);
    }
    outcome
}

/// Reads one statement, asking for more lines (`... `) while MicroPython
/// says it is unfinished. `None` at end of input.
fn read_statement(
    editor: &mut DefaultEditor,
    session: &mut micropython_wasm::Session,
) -> Result<Option<String>, Error> {
    let mut input = match editor.readline(">>> ") {
        Ok(line) => line,
        Err(ReadlineError::Interrupted) => {
            crate::say("KeyboardInterrupt");
            return Ok(Some(String::new()));
        }
        Err(_) => return Ok(None),
    };
    while session.needs_more_input(&input)? {
        match editor.readline("... ") {
            Ok(line) => {
                input.push('\n');
                input.push_str(&line);
            }
            Err(ReadlineError::Interrupted) => {
                crate::say("KeyboardInterrupt");
                return Ok(Some(String::new()));
            }
            Err(_) => break,
        }
    }
    Ok(Some(input))
}

/// `$MICROPYTHON_WASM_HISTORY`, else `$XDG_STATE_HOME/micropython-wasm/history`,
/// else `~/.local/state/micropython-wasm/history`.
fn history_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(HISTORY_ENV) {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))?;
    Some(state.join("micropython-wasm/history"))
}
