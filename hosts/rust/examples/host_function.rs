//! Let Python call Rust: arguments and results cross as JSON, errors become
//! `host.HostError`.
//!
//!     cargo run --example host_function

use micropython_wasm::{json, HostError, Sandbox, Value};

fn main() -> Result<(), micropython_wasm::Error> {
    let sandbox = Sandbox::builder()
        .host_function("add", |args: &[Value]| {
            let number = |i: usize| args.get(i).and_then(Value::as_f64).ok_or(HostError::new("add takes two numbers"));
            Ok(json!(number(0)? + number(1)?))
        })
        .host_function("lookup", |args: &[Value]| match args.first().and_then(Value::as_str) {
            Some("answer") => Ok(json!({"value": 42, "tags": ["deep", "thought"]})),
            Some(key) => Err(HostError::new(format!("no entry named {key}"))),
            None => Err(HostError::new("lookup takes a key")),
        })
        .build()?;
    let output = sandbox.run(
        r#"
import host
print(host.add(2, 3))
print(host.call("lookup", "answer")["tags"])
try:
    host.lookup("question")
except host.HostError as e:
    print("HostError:", e)
"#,
    )?;
    print!("{}", output.stdout);
    Ok(())
}
