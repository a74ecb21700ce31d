//! The canonical-ABI glue between a WIT world and the port's C: wit-bindgen
//! generates it from `ports/wasm/wit/` into the build folder, so it always
//! matches the WIT it is compiled against and never needs committing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wit_parser::Resolve;

/// Name the generated files and C identifiers carry (`mpwasm_component.h`,
/// `mpwasm_component_*`), whatever the world is called.
pub const GLUE_NAME: &str = "mpwasm_component";

/// Generated glue of one world: C to compile and the object holding the
/// world's type information, which the component encoder reads.
pub struct Glue {
    pub source: PathBuf,
    pub type_object: PathBuf,
}

/// The WIT package in `wit_dir` and its world `world`.
pub fn load(wit_dir: &Path, world: &str) -> Result<(Resolve, wit_parser::WorldId)> {
    let mut resolve = Resolve::default();
    let (package, _) =
        resolve.push_dir(wit_dir).with_context(|| format!("reading the WIT package {}", wit_dir.display()))?;
    let world = resolve
        .select_world(&[package], Some(world))
        .with_context(|| format!("finding world `{world}` in {}", wit_dir.display()))?;
    Ok((resolve, world))
}

/// Writes the glue of `world` under `out_dir`. A file whose contents did not
/// change is left alone, so the incremental build sees nothing to redo.
pub fn generate(wit_dir: &Path, world: &str, out_dir: &Path) -> Result<Glue> {
    let (mut resolve, world_id) = load(wit_dir, world)?;
    let opts = wit_bindgen_c::Opts { rename_world: Some(GLUE_NAME.to_owned()), ..Default::default() };
    let mut files = wit_bindgen_core::Files::default();
    opts.build()
        .generate(&mut resolve, world_id, &mut files)
        .with_context(|| format!("generating C bindings for world `{world}`"))?;
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for (name, bytes) in files.iter() {
        let path = out_dir.join(name);
        if fs::read(&path).ok().as_deref() != Some(bytes) {
            fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(Glue {
        source: out_dir.join(format!("{GLUE_NAME}.c")),
        type_object: out_dir.join(format!("{GLUE_NAME}_component_type.o")),
    })
}

/// Where a build folder keeps the glue (on the include path as `wit/…`).
pub fn glue_dir(build_dir: &Path) -> PathBuf {
    build_dir.join("wit")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wit_dir() -> PathBuf {
        crate::project::repo_root().join("ports/wasm/wit")
    }

    #[test]
    fn the_port_wit_gives_the_glue_component_c_implements() {
        let dir = tempfile::tempdir().unwrap();
        let glue = generate(&wit_dir(), "library", dir.path()).unwrap();
        let header = fs::read_to_string(dir.path().join(format!("{GLUE_NAME}.h"))).unwrap();
        for function in [
            "exports_mpwasm_micropython_interpreter_constructor_session",
            "exports_mpwasm_micropython_interpreter_method_session_eval",
            "mpwasm_micropython_host_call",
        ] {
            assert!(header.contains(function), "{function}");
        }
        assert!(glue.source.is_file() && glue.type_object.is_file());
        // Unchanged glue keeps its files, so nothing recompiles.
        let modified = fs::metadata(&glue.source).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        generate(&wit_dir(), "library", dir.path()).unwrap();
        assert_eq!(fs::metadata(&glue.source).unwrap().modified().unwrap(), modified);
    }

    #[test]
    fn an_unknown_world_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate(&wit_dir(), "nope", dir.path()).err().unwrap();
        assert!(format!("{err:#}").contains("world `nope`"), "{err:#}");
    }
}
