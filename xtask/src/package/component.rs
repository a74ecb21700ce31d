//! The component bundle (`dist/component/`): the library as a component with
//! the WIT world `library` (in both exception-handling encodings), the
//! command module as a `wasi:cli/command` component, the WIT package, a
//! README, checksums and provenance.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::checksums::Checksums;
use super::staging::Staging;
use crate::build::BuildOutput;
use crate::postprocess::component::{componentize, Kind};
use crate::postprocess::Provenance;

/// The library component in the standard encoding (wasmtime).
pub const LIBRARY: &str = "micropython-library.wasm";
/// The same in the legacy encoding, for JavaScript engines (jco, Node 20).
pub const LIBRARY_LEGACY: &str = "micropython-library.legacy-eh.wasm";
/// The command component (`wasmtime run`).
pub const COMMAND: &str = "micropython-command.wasm";

const README: &str = include_str!("../../../hosts/component/README.md");

/// The port's artifact implementing the WIT world.
const ARTIFACT: &str = "component";

/// Stages `dist/component/`.
pub fn write_bundle(build: &BuildOutput, dist: &Path) -> Result<Staging> {
    let staging = Staging::new(&dist.join("component"))?;
    let library = build.exnref_modules.get(ARTIFACT).context("the port builds no `component` module")?;
    let components = [
        (LIBRARY, library.as_path(), Kind::Library),
        (LIBRARY_LEGACY, build.modules[ARTIFACT].as_path(), Kind::Library),
        (COMMAND, build.exnref_modules["command"].as_path(), Kind::Command),
    ];
    let mut sums = Checksums::new(staging.path());
    for (name, module, kind) in components {
        let bytes = fs::read(module).with_context(|| format!("reading {}", module.display()))?;
        let component =
            componentize(&bytes, kind).with_context(|| format!("making {name} from {}", module.display()))?;
        sums.write(name, &component)?;
    }

    let wit_dir = crate::project::repo_root().join("ports/wasm/wit");
    fs::create_dir(staging.path().join("wit"))?;
    for entry in fs::read_dir(&wit_dir).with_context(|| format!("listing {}", wit_dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "wit") {
            let name = path.file_name().expect("a listed file has a name").to_string_lossy().into_owned();
            let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            sums.write(&format!("wit/{name}"), &text)?;
        }
    }

    let provenance =
        Provenance::read(&fs::read(library)?)?.context("the component module has no provenance section")?;
    fs::write(staging.path().join("README.md"), readme(&provenance))?;
    sums.finish(&provenance)?;
    Ok(staging)
}

fn readme(provenance: &Provenance) -> String {
    README
        .replace("{version}", &provenance.micropython_version)
        .replace("{variant}", &provenance.variant)
        .replace("{profile}", &provenance.profile)
}
