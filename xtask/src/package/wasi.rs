//! The WASI bundle (`dist/wasi/`): the command module, how to run it, its
//! checksums and its provenance.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::staging::Staging;
use crate::build::BuildOutput;
use crate::fetch::SourceOrigin;

const MODULE_NAME: &str = "micropython.wasm";

/// Where the module came from, as JSON beside it.
#[derive(Serialize)]
struct Provenance<'a> {
    micropython_version: &'a str,
    source: SourceRecord<'a>,
    variant: &'a str,
    toolchain: String,
    exception_handling: &'static str,
    sha256: String,
    size_bytes: u64,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum SourceRecord<'a> {
    Archive { url: &'a str, sha256: &'a str },
    LocalDirectory,
}

pub fn write_bundle(build: &BuildOutput, dist: &Path) -> Result<PathBuf> {
    let staging = Staging::new(&dist.join("wasi"))?;
    let module = build.command_module();
    let module_bytes = fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    let digest = hex::encode(Sha256::digest(&module_bytes));
    fs::write(staging.path().join(MODULE_NAME), &module_bytes)?;

    let provenance = Provenance {
        micropython_version: &build.source.version,
        source: match &build.source.origin {
            SourceOrigin::Archive { url, sha256 } => SourceRecord::Archive { url, sha256 },
            SourceOrigin::LocalDir => SourceRecord::LocalDirectory,
        },
        variant: &build.variant,
        toolchain: build.toolchain.clang_version(),
        exception_handling: "legacy",
        sha256: digest.clone(),
        size_bytes: module_bytes.len() as u64,
    };
    let provenance_json = serde_json::to_string_pretty(&provenance)? + "\n";
    fs::write(staging.path().join("provenance.json"), &provenance_json)?;
    fs::write(staging.path().join("README.md"), readme(&build.source.version, &build.variant))?;

    let sums = [(MODULE_NAME, digest), ("provenance.json", hex::encode(Sha256::digest(provenance_json.as_bytes())))];
    let sums_text: String = sums.iter().map(|(name, sum)| format!("{sum}  {name}\n")).collect();
    fs::write(staging.path().join("SHA256SUMS"), sums_text)?;
    staging.commit()
}

fn readme(version: &str, variant: &str) -> String {
    format!(
        r#"# MicroPython {version} for WASI ({variant} variant)

`micropython.wasm` is a WASI preview 1 command module. It uses WebAssembly
exception handling for MicroPython's non-local returns (the legacy
`try`/`catch` encoding, as Node and browsers run it).

## Run it

Node 20 or newer (`node:wasi`):

```js
import {{ readFile }} from "node:fs/promises";
import {{ WASI }} from "node:wasi";
const wasi = new WASI({{ version: "preview1", args: ["micropython", "-c", "print(1+1)"], preopens: {{ "/": "." }}, returnOnExit: true }});
const module = await WebAssembly.compile(await readFile("micropython.wasm"));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
```

Command line:

```
micropython.wasm [-X heapsize=N[k|m]] [-c CODE | -m MODULE | FILE | -] [arg ...]
```

Exit status is 0 on success, 1 for an uncaught exception (traceback on
stderr), `n` for `SystemExit(n)` and 2 for bad usage. Files are reached
through the host's preopened directories; with no program argument the
module reads an interactive session from stdin.

`SHA256SUMS` lists the checksums of this folder; `provenance.json` records the
source archive, variant and toolchain the module was built from.
"#
    )
}
