//! Each limit of the sandbox, tripped on purpose, and the typed error it gives.
//!
//!     cargo run --example limits

use std::time::Duration;

use micropython_wasm::{Error, Sandbox};

fn main() -> Result<(), Error> {
    // Fuel: a deterministic budget of work.
    let fuel = Sandbox::builder().fuel(20_000_000).build()?;
    let output = fuel.run("print(sum(range(1000)))")?;
    println!("sum(range(1000)) used {} fuel", output.fuel_consumed.unwrap_or_default());
    report("fuel", fuel.run("while True:\n    pass"));

    // Wall-clock time.
    let timed = Sandbox::builder().timeout(Duration::from_millis(200)).build()?;
    report("timeout", timed.run("while True:\n    pass"));

    // Memory: the heap fills up first (a Python MemoryError that code may
    // catch); asking for a heap larger than the limit allows is refused by
    // the sandbox itself.
    let small = Sandbox::builder().memory(4 << 20).build()?;
    report("memory", small.run("x = 'x' * 10**9"));
    report("memory", Sandbox::builder().memory(4 << 20).heap(8 << 20).build().and_then(|s| s.run("pass")));

    // Captured output.
    let quiet = Sandbox::builder().max_output(1024).build()?;
    report("output", quiet.run("while True:\n    print('spam')"));
    Ok(())
}

fn report(limit: &str, result: Result<micropython_wasm::Output, Error>) {
    match result {
        Ok(_) => println!("{limit}: no error"),
        Err(error) => println!("{limit}: {error} (exit status {})", error.exit_code()),
    }
}
