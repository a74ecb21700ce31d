//! The WASI bundle (`dist/wasi/`): the command module, how to run it, its
//! checksums and its provenance.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::checksums::Checksums;
use super::staging::Staging;
use crate::build::BuildOutput;
use crate::postprocess::Provenance;

/// The standard encoding, which every WASI runtime implements, under the
/// plain name: `wasmtime run micropython.wasm` works as a newcomer expects.
const MODULE_NAME: &str = "micropython.wasm";
/// The legacy encoding, for the engines that run only it (Node 20, browsers).
const LEGACY_MODULE_NAME: &str = "micropython.legacy-eh.wasm";

/// Stages `dist/wasi/`: the command module in both exception-handling forms,
/// its README, checksums and provenance.
pub fn write_bundle(build: &BuildOutput, dist: &Path) -> Result<Staging> {
    let staging = Staging::new(&dist.join("wasi"))?;
    let mut sums = Checksums::new(staging.path());
    let standard = build.exnref_modules["command"].as_path();
    for (name, module) in [(MODULE_NAME, standard), (LEGACY_MODULE_NAME, build.command_module())] {
        let bytes = fs::read(module).with_context(|| format!("reading {}", module.display()))?;
        sums.write(name, &bytes)?;
    }

    let module_bytes = fs::read(standard)?;
    let provenance = Provenance::read(&module_bytes)?.context("the command module has no provenance section")?;
    fs::write(staging.path().join("README.md"), readme(&provenance))?;
    sums.finish(&provenance)?;
    Ok(staging)
}

fn readme(provenance: &Provenance) -> String {
    let Provenance { micropython_version: version, variant, profile, .. } = provenance;
    format!(
        r#"# MicroPython {version} for WASI ({variant} variant, {profile} profile)

Two encodings of the same WASI preview 1 command module; they differ only in
how WebAssembly exception handling (MicroPython's non-local return) is
written:

- `micropython.wasm` — standard `try_table`/`exnref`: wasmtime and the
  other WASI runtimes.
- `micropython.legacy-eh.wasm` — legacy `try`/`catch`, for the engines
  that run only that: Node 20 and today's browsers.

## Run it

wasmtime (37 or newer):

```
wasmtime run -W exceptions=y --dir . micropython.wasm -c 'print(1+1)'
```

Node 20 or newer (`node:wasi`, with the legacy encoding). `node:wasi` is
not a sandbox: a symbolic link inside a preopened folder leads outside it,
so preopen only folders whose contents you trust, or none (as here); for
untrusted code use wasmtime, or the Rust, Python or npm bundles, whose
hosts grant no folder unless asked:

```js
import {{ readFile }} from "node:fs/promises";
import {{ WASI }} from "node:wasi";
const wasi = new WASI({{ version: "preview1", args: ["micropython", "-c", "print(1+1)"], returnOnExit: true }});
const module = await WebAssembly.compile(await readFile("micropython.legacy-eh.wasm"));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
```

Other WASI runtimes (wasmer-style `run` commands) take `micropython.wasm`
with the same arguments.

## Command line

```
micropython.wasm [-X heapsize=N[k|m]] [-c CODE | -m MODULE | FILE | -] [arg ...]
```

Exit status is 0 on success, 1 for an uncaught exception (traceback on
stderr), `n` for `SystemExit(n)` and 2 for bad usage. Files are reached
through the host's preopened directories; with no program argument the
module reads an interactive session from stdin.

`SHA256SUMS` lists the checksums of this folder; `provenance.json` (also
embedded in each module as the `mpwasm.provenance` custom section) records the
source archive, variant, profile, toolchain and frozen modules.
"#
    )
}
