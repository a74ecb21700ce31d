//! The npm package (`dist/npm/mpwasm/`): the library module as
//! `micropython.wasm`, a JavaScript loader for Node and browsers with its
//! TypeScript declarations and a `bin`, MicroPython's licence and a README,
//! described by a generated `package.json`.

mod manifest;
pub(super) mod minify;

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::abi::{self, Api};
use super::staging::Staging;
use crate::build::BuildOutput;
use manifest::{Bin, Conditions, Engines, Exports, ModuleType, PackageJson};

const PACKAGE_NAME: &str = "mpwasm";
/// The package's own version; the MicroPython version is in its description.
const PACKAGE_VERSION: &str = "0.1.0";
pub(super) const MODULE_NAME: &str = "micropython.wasm";
const CLI: &str = "cli.js";
const TYPES: &str = "index.d.ts";
// `exports` targets must be relative paths starting with `./`.
const TYPES_PATH: &str = "./index.d.ts";
const NODE_ENTRY: &str = "./node.js";
/// The API constants, generated from the port's C header.
pub(super) const ABI: &str = "abi.js";
const BROWSER_ENTRY: &str = "./browser.js";

/// The hand-written package sources (`hosts/npm/`), embedded so that xtask
/// alone can write the package.
pub(super) const SOURCES: &[(&str, &str)] = &[
    ("core.js", include_str!("../../../../hosts/npm/core.js")),
    ("fs.js", include_str!("../../../../hosts/npm/fs.js")),
    ("node.js", include_str!("../../../../hosts/npm/node.js")),
    ("browser.js", include_str!("../../../../hosts/npm/browser.js")),
    ("worker.js", include_str!("../../../../hosts/npm/worker.js")),
    ("worker-node.js", include_str!("../../../../hosts/npm/worker-node.js")),
    (CLI, include_str!("../../../../hosts/npm/cli.js")),
    (TYPES, include_str!("../../../../hosts/npm/index.d.ts")),
];
const README: &str = include_str!("../../../../hosts/npm/README.md");

/// Stages `dist/npm/mpwasm/`, ready for `npm pack` or `npm publish` once committed.
pub fn write_package(build: &BuildOutput, api: &Api, dist: &Path) -> Result<Staging> {
    let staging = Staging::new(&dist.join("npm").join(PACKAGE_NAME))?;
    let dir = staging.path();
    let library = build.modules.get("library").context("the port builds no `library` module for the npm package")?;
    let module = fs::read(library).with_context(|| format!("reading {}", library.display()))?;
    fs::write(dir.join(MODULE_NAME), module)?;
    for (name, text) in SOURCES {
        fs::write(dir.join(name), shipped_source(name, text)?).with_context(|| format!("writing {name}"))?;
    }
    fs::write(dir.join(ABI), abi::js_constants(api))?;
    make_executable(&dir.join(CLI))?;
    // The module is MicroPython: its licence travels with it.
    let licence = build.source.root.join("LICENSE");
    fs::copy(&licence, dir.join("LICENSE")).with_context(|| format!("copying {}", licence.display()))?;
    let readme = README
        .replace("{{name}}", PACKAGE_NAME)
        .replace("{{micropython_version}}", &build.source.version)
        .replace("{{variant}}", &build.variant);
    fs::write(dir.join("README.md"), readme)?;
    let manifest = serde_json::to_string_pretty(&package_json(&build.source.version))? + "\n";
    fs::write(dir.join("package.json"), manifest)?;
    Ok(staging)
}

/// One of `SOURCES` as the package ships it (and the web bundle with it):
/// scripts minified (the `bin` keeps its `#!` line), declarations as written.
pub(super) fn shipped_source(name: &str, text: &str) -> Result<String> {
    if name.ends_with(".js") {
        minify::minify(name, text)
    } else {
        Ok(text.to_string())
    }
}

fn package_json(micropython_version: &str) -> PackageJson<'static> {
    let mut files = vec![MODULE_NAME, ABI];
    files.extend(SOURCES.iter().map(|(name, _)| *name));
    PackageJson {
        name: PACKAGE_NAME,
        version: PACKAGE_VERSION,
        description: format!("MicroPython {micropython_version} compiled to WebAssembly, for Node and browsers"),
        license: "MIT",
        keywords: &["micropython", "python", "webassembly", "wasm", "wasi", "interpreter"],
        module_type: ModuleType::Module,
        exports: Exports {
            root: Conditions { types: TYPES_PATH, node: NODE_ENTRY, browser: BROWSER_ENTRY, default: BROWSER_ENTRY },
            wasm: "./micropython.wasm",
            manifest: "./package.json",
        },
        main: NODE_ENTRY,
        types: TYPES_PATH,
        bin: Bin { command: PACKAGE_NAME, script: "./cli.js" },
        files,
        side_effects: false,
        // The oldest Node that runs the legacy exception-handling encoding
        // without flags and has fetch, WebAssembly.compileStreaming and Web
        // Crypto built in.
        engines: Engines { node: ">=20" },
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}
