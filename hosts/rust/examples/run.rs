//! Run a snippet in a fresh interpreter and read what it printed.
//!
//!     cargo run --example run

use micropython_wasm::Error;

fn main() -> Result<(), Error> {
    let output = micropython_wasm::run("import sys\nprint('hello from', sys.implementation.name)")?;
    print!("{}", output.stdout);

    // An uncaught exception is an error that carries the exception and the
    // output printed before it.
    match micropython_wasm::run("print('before')\n1 / 0") {
        Err(Error::Exception { exception, output }) => {
            println!("{} raised after printing {:?}", exception.type_name, output.stdout);
        }
        other => panic!("expected ZeroDivisionError, got {other:?}"),
    }
    Ok(())
}
