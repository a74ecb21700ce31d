//! Keep one interpreter alive and run snippet after snippet in it, the way
//! a notebook or a REPL does.
//!
//!     cargo run --example session

use micropython_wasm::Sandbox;

fn main() -> Result<(), micropython_wasm::Error> {
    let sandbox = Sandbox::new()?;
    let mut session = sandbox.session()?;
    session.run("scores = {}")?;
    for (name, score) in [("ada", 36), ("alan", 41)] {
        session.run(&format!("scores[{name:?}] = {score}"))?;
    }
    // As at the >>> prompt: an expression's value is printed.
    let output = session.run_interactive("sorted(scores.items())")?;
    print!("{}", output.stdout);

    // A failed snippet leaves the state as it was.
    assert!(session.run("scores['grace'] = undefined_name").is_err());
    print!("{}", session.run("print(sorted(scores))")?.stdout);
    Ok(())
}
