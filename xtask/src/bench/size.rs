//! What each build weighs: modules raw and compressed, split by section, the
//! largest functions, the frozen Python modules (the build's own
//! attribution, `frozen-sizes.json`), and the JavaScript glue.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::build::frozen_sizes::FrozenSizes;
use crate::build::BuildOutput;
use crate::postprocess::symbols::{FunctionSize, SymbolMap};
use crate::sizes::Sizes;

const TOP_FUNCTIONS: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildSizes {
    /// `<variant>-<profile>`.
    pub name: String,
    pub variant: String,
    pub profile: String,
    /// How the collector finds pointers (`spill`, `scan`): it costs code.
    pub gc: String,
    /// By artifact (`command`, `library`): the legacy form, as shipped to
    /// Node and browsers.
    pub modules: BTreeMap<String, ModuleSizes>,
    /// Each frozen file's `.mpy` bytes and the data it adds to the image,
    /// and the frozen data no single file owns.
    pub frozen: FrozenSizes,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleSizes {
    #[serde(flatten)]
    pub sizes: Sizes,
    /// Raw bytes of the exnref form (wasmtime).
    pub exnref_raw: u64,
    /// Bytes by kind of section of the module as shipped.
    pub sections: SectionSplit,
    /// The largest functions, named by the symbol map (kept from before the
    /// names were stripped).
    pub top_functions: Vec<FunctionSize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectionSplit {
    pub code: u64,
    pub data: u64,
    pub custom: u64,
    pub other: u64,
}

/// JavaScript shipped next to a module.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsGlue {
    pub files: BTreeMap<String, Sizes>,
    pub total: Sizes,
    /// What a browser page loads of it (the scripts dist/web carries) as one
    /// gzip stream: the figure tests/npm/size.test.js holds to 8 KiB.
    #[serde(default)]
    pub page: Option<Sizes>,
}

pub fn of_build(name: &str, build: &BuildOutput) -> Result<BuildSizes> {
    let mut modules = BTreeMap::new();
    for (artifact, path) in &build.modules {
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let exnref = &build.exnref_modules[artifact];
        let exnref_raw = fs::metadata(exnref).with_context(|| format!("reading {}", exnref.display()))?.len();
        let symbols_path = &build.symbol_maps[artifact];
        let symbols: SymbolMap = serde_json::from_slice(
            &fs::read(symbols_path).with_context(|| format!("reading {}", symbols_path.display()))?,
        )
        .with_context(|| format!("parsing {}", symbols_path.display()))?;
        let mut split = SectionSplit { code: 0, data: 0, custom: 0, other: 0 };
        for (section, bytes) in &SymbolMap::of(&bytes)?.sections {
            match section.as_str() {
                "code" => split.code += bytes,
                "data" => split.data += bytes,
                custom if custom.starts_with("custom:") => split.custom += bytes,
                _ => split.other += bytes,
            }
        }
        modules.insert(
            artifact.clone(),
            ModuleSizes {
                sizes: Sizes::of(&bytes),
                exnref_raw,
                sections: split,
                top_functions: symbols.functions.into_iter().take(TOP_FUNCTIONS).collect(),
            },
        );
    }
    Ok(BuildSizes {
        name: name.to_owned(),
        variant: build.variant.clone(),
        profile: build.profile.to_string(),
        gc: build.gc.to_string(),
        modules,
        frozen: FrozenSizes::read(&build.frozen_sizes)?,
    })
}

/// The `.js`/`.mjs` files of a folder and their bytes, by name; none if the
/// folder does not exist.
fn scripts(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut scripts = BTreeMap::new();
    let Ok(entries) = fs::read_dir(dir) else { return Ok(scripts) };
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.extension().is_some_and(|ext| ext == "js" || ext == "mjs") {
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            scripts.insert(path.file_name().expect("a file").to_string_lossy().into_owned(), bytes);
        }
    }
    Ok(scripts)
}

/// The scripts in `dir` (the web bundle's copy of the package), in name
/// order, concatenated and compressed together; None if there are none.
pub fn page_glue(dir: &Path) -> Result<Option<Sizes>> {
    let scripts = scripts(dir)?;
    Ok((!scripts.is_empty()).then(|| Sizes::of(&scripts.into_values().flatten().collect::<Vec<u8>>())))
}

/// The JavaScript of a package folder, file by file, if it has any.
pub fn js_glue(dir: &Path) -> Result<Option<JsGlue>> {
    let files: BTreeMap<String, Sizes> =
        scripts(dir)?.into_iter().map(|(name, bytes)| (name, Sizes::of(&bytes))).collect();
    if files.is_empty() {
        return Ok(None);
    }
    let total = files.values().sum();
    Ok(Some(JsGlue { total, files, page: None }))
}
