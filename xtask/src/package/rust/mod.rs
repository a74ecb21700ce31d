//! The Rust crate (`dist/rust/micropython-wasm/`): the exnref library and
//! command modules embedded with `include_bytes!` in a wasmtime-based
//! library (runs with limits, sessions, host functions, a compiled-code
//! cache) and a `micropython-wasm` command-line program, with examples and
//! tests. It is its own workspace, so it builds wherever it is copied.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::abi::{self, Api};
use super::staging::Staging;
use crate::build::BuildOutput;
use crate::postprocess::Provenance;

const CRATE_NAME: &str = "micropython-wasm";
/// The crate's own version; the MicroPython version is in its description.
const CRATE_VERSION: &str = "0.1.0";

/// Where the crate's hand-written sources live in this repository.
#[cfg(test)]
const SOURCE_DIR: &str = "hosts/rust";

/// The hand-written crate sources (`hosts/rust/`), embedded so that xtask
/// alone can write the crate. `Cargo.toml`, `Cargo.lock` and `README.md` also get the
/// versions filled in.
const SOURCES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../../hosts/rust/Cargo.toml")),
    ("Cargo.lock", include_str!("../../../../hosts/rust/Cargo.lock")),
    ("README.md", include_str!("../../../../hosts/rust/README.md")),
    (".gitignore", include_str!("../../../../hosts/rust/.gitignore")),
    ("rustfmt.toml", include_str!("../../../../hosts/rust/rustfmt.toml")),
    ("src/lib.rs", include_str!("../../../../hosts/rust/src/lib.rs")),
    ("src/cache.rs", include_str!("../../../../hosts/rust/src/cache.rs")),
    ("src/deadline.rs", include_str!("../../../../hosts/rust/src/deadline.rs")),
    ("src/engine.rs", include_str!("../../../../hosts/rust/src/engine.rs")),
    ("src/errno.rs", include_str!("../../../../hosts/rust/src/errno.rs")),
    ("src/error.rs", include_str!("../../../../hosts/rust/src/error.rs")),
    ("src/host.rs", include_str!("../../../../hosts/rust/src/host.rs")),
    ("src/instance.rs", include_str!("../../../../hosts/rust/src/instance.rs")),
    ("src/interpreter.rs", include_str!("../../../../hosts/rust/src/interpreter.rs")),
    ("src/limiter.rs", include_str!("../../../../hosts/rust/src/limiter.rs")),
    ("src/output.rs", include_str!("../../../../hosts/rust/src/output.rs")),
    ("src/poll.rs", include_str!("../../../../hosts/rust/src/poll.rs")),
    ("src/sandbox.rs", include_str!("../../../../hosts/rust/src/sandbox.rs")),
    ("src/session.rs", include_str!("../../../../hosts/rust/src/session.rs")),
    ("src/settings.rs", include_str!("../../../../hosts/rust/src/settings.rs")),
    ("src/source.rs", include_str!("../../../../hosts/rust/src/source.rs")),
    ("src/wasi.rs", include_str!("../../../../hosts/rust/src/wasi.rs")),
    ("src/bin/micropython-wasm/main.rs", include_str!("../../../../hosts/rust/src/bin/micropython-wasm/main.rs")),
    ("src/bin/micropython-wasm/args.rs", include_str!("../../../../hosts/rust/src/bin/micropython-wasm/args.rs")),
    ("src/bin/micropython-wasm/isolate.rs", include_str!("../../../../hosts/rust/src/bin/micropython-wasm/isolate.rs")),
    ("src/bin/micropython-wasm/repl.rs", include_str!("../../../../hosts/rust/src/bin/micropython-wasm/repl.rs")),
    ("examples/run.rs", include_str!("../../../../hosts/rust/examples/run.rs")),
    ("examples/session.rs", include_str!("../../../../hosts/rust/examples/session.rs")),
    ("examples/host_function.rs", include_str!("../../../../hosts/rust/examples/host_function.rs")),
    ("examples/limits.rs", include_str!("../../../../hosts/rust/examples/limits.rs")),
    ("tests/api.rs", include_str!("../../../../hosts/rust/tests/api.rs")),
    ("tests/limits.rs", include_str!("../../../../hosts/rust/tests/limits.rs")),
    ("tests/cache.rs", include_str!("../../../../hosts/rust/tests/cache.rs")),
    ("tests/cli.rs", include_str!("../../../../hosts/rust/tests/cli.rs")),
    ("tests/repl.rs", include_str!("../../../../hosts/rust/tests/repl.rs")),
    ("tests/examples.rs", include_str!("../../../../hosts/rust/tests/examples.rs")),
    ("tests/hostile.rs", include_str!("../../../../hosts/rust/tests/hostile.rs")),
    ("tests/hostile_cli.rs", include_str!("../../../../hosts/rust/tests/hostile_cli.rs")),
    ("tests/load.rs", include_str!("../../../../hosts/rust/tests/load.rs")),
    ("tests/fuzz.rs", include_str!("../../../../hosts/rust/tests/fuzz.rs")),
];

/// The embedded modules: (build artifact, file under `wasm/`, constant prefix in `src/embedded.rs`).
const MODULES: &[(&str, &str, &str)] =
    &[("command", "micropython.wasm", "COMMAND"), ("library", "micropython-lib.wasm", "LIBRARY")];

/// Stages `dist/rust/micropython-wasm/`, ready (once committed) for `cargo build`, `cargo
/// test` or `cargo publish`.
pub fn write_crate(build: &BuildOutput, api: &Api, dist: &Path) -> Result<Staging> {
    let staging = Staging::new(&dist.join("rust").join(CRATE_NAME))?;
    let dir = staging.path();
    let fill = |text: &str| {
        text.replace("{{crate_version}}", CRATE_VERSION).replace("{{micropython_version}}", &build.source.version)
    };
    for (path, text) in SOURCES {
        write(&dir.join(path), fill(text).as_bytes())?;
    }

    let mut sums = String::new();
    let mut constants = String::new();
    let mut provenance = serde_json::Map::new();
    for (artifact, file, constant) in MODULES {
        let module = build
            .exnref_modules
            .get(*artifact)
            .with_context(|| format!("the port builds no `{artifact}` module for the Rust crate"))?;
        let bytes = fs::read(module).with_context(|| format!("reading {}", module.display()))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        write(&dir.join("wasm").join(file), &bytes)?;
        sums.push_str(&format!("{sha256}  wasm/{file}\n"));
        constants.push_str(&format!(
            "pub(crate) const {constant}_WASM: &[u8] = include_bytes!(\"../wasm/{file}\");\n\
             pub(crate) const {constant}_SHA256: &str = \"{sha256}\";\n"
        ));
        let record =
            Provenance::read(&bytes)?.with_context(|| format!("{} has no provenance section", module.display()))?;
        provenance.insert(format!("wasm/{file}"), serde_json::to_value(record)?);
    }
    let embedded = format!(
        "//! The modules this crate runs, written by `cargo xtask dist`.\n\n\
         /// The MicroPython release the embedded modules were built from.\n\
         pub const MICROPYTHON_VERSION: &str = \"{}\";\n\n{constants}",
        build.source.version
    );
    write(&dir.join("src/embedded.rs"), embedded.as_bytes())?;
    write(&dir.join("src/abi.rs"), abi::rust_bindings(api).as_bytes())?;
    let provenance = serde_json::to_string_pretty(&provenance)? + "\n";
    write(&dir.join("provenance.json"), provenance.as_bytes())?;
    sums.push_str(&format!("{}  provenance.json\n", hex::encode(Sha256::digest(provenance.as_bytes()))));
    write(&dir.join("SHA256SUMS"), sums.as_bytes())?;
    // The modules are MicroPython: its licence travels with them.
    let licence = build.source.root.join("LICENSE");
    fs::copy(&licence, dir.join("LICENSE")).with_context(|| format!("copying {}", licence.display()))?;
    Ok(staging)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(path.parent().expect("crate files live in the crate folder"))?;
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the crate's sources is embedded, so none is silently
    /// left out of the generated crate.
    #[test]
    fn every_source_file_is_listed() {
        let root = crate::project::repo_root().join(SOURCE_DIR);
        let mut found = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path.strip_prefix(&root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        let mut listed: Vec<String> = SOURCES.iter().map(|(path, _)| path.to_string()).collect();
        listed.sort();
        assert_eq!(found, listed);
    }
}
