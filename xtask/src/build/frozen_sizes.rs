//! Size attribution for frozen modules: frozen Python is data, not
//! functions, so the per-function symbol map cannot show it. Each module's
//! bytes are the sizes of the C objects mpy-tool.py generated for it, read
//! from the symbol table of the compiled `frozen_content.c`, and written as
//! `frozen-sizes.json` beside the modules.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use wasmparser::{KnownCustom, Linking, Parser, Payload, SymbolInfo};

use super::frozen::{FrozenFile, FrozenKind};

/// File name of the attribution, in the build folder.
pub const FILE_NAME: &str = "frozen-sizes.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenSizes {
    /// Every frozen file, by its path in the frozen filesystem.
    pub modules: BTreeMap<String, ModuleSize>,
    /// Bytes of frozen data in the image: the modules' plus `shared_bytes`.
    pub total_bytes: u64,
    /// Frozen data no single module owns: the pool of qstrs the modules
    /// add, the name and module tables, and string literals.
    pub shared_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleSize {
    /// `port` (the variant's manifest) or `user` (the build configuration).
    pub origin: String,
    pub source: PathBuf,
    /// Size of the bytecode file (`.mpy`); for a file frozen as a string
    /// (`freeze_as_str`), of its source.
    pub mpy_bytes: u64,
    /// Bytes of the module's own C objects (bytecode, constants, tables)
    /// in the image's data.
    pub data_bytes: u64,
}

impl FrozenSizes {
    /// Attributes the data of `object` (frozen_content.c compiled) to the
    /// modules of `frozen_c` (its source) listed in `files`.
    pub fn measure(files: &[FrozenFile], build_dir: &Path, frozen_c: &str, object: &[u8]) -> Result<FrozenSizes> {
        let symbol_sizes = data_symbol_sizes(object)?;
        let total_bytes = symbol_sizes.values().sum();
        let mut owned: BTreeMap<String, u64> = BTreeMap::new();
        for (target, symbol) in symbols_by_module(frozen_c) {
            *owned.entry(target).or_default() += symbol_sizes.get(&symbol).copied().unwrap_or(0);
        }
        let mut modules = BTreeMap::new();
        for file in files {
            let compiled = match file.kind {
                FrozenKind::Py => file.compiled_path(build_dir),
                FrozenKind::Mpy | FrozenKind::Str => file.source.clone(),
            };
            let mpy_bytes = fs::metadata(&compiled).with_context(|| format!("reading {}", compiled.display()))?.len();
            modules.insert(
                file.target.clone(),
                ModuleSize {
                    origin: if file.manifest == 0 { "port" } else { "user" }.to_owned(),
                    source: file.source.clone(),
                    mpy_bytes,
                    data_bytes: owned.get(&file.target).copied().unwrap_or(0),
                },
            );
        }
        let attributed: u64 = modules.values().map(|module| module.data_bytes).sum();
        Ok(FrozenSizes { modules, total_bytes, shared_bytes: total_bytes - attributed })
    }

    pub fn write(&self, build_dir: &Path) -> Result<PathBuf> {
        let path = build_dir.join(FILE_NAME);
        let json = serde_json::to_string_pretty(self).expect("sizes always serialise") + "\n";
        super::genhdr::write_if_changed(&path, json.as_bytes())?;
        Ok(path)
    }

    pub fn read(path: &Path) -> Result<FrozenSizes> {
        let text = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The attribution beside a built module, if it has one (modules copied
    /// into bundles do not).
    pub fn beside(module: &Path) -> Result<Option<FrozenSizes>> {
        let path = module.with_file_name(FILE_NAME);
        path.is_file().then(|| FrozenSizes::read(&path)).transpose()
    }

    /// One line per frozen file, `origin` first, largest first.
    pub fn lines(&self) -> Vec<String> {
        let mut modules: Vec<(&String, &ModuleSize)> = self.modules.iter().collect();
        modules.sort_by(|a, b| b.1.data_bytes.cmp(&a.1.data_bytes).then_with(|| a.0.cmp(b.0)));
        let mut lines: Vec<String> = modules
            .iter()
            .map(|(target, size)| {
                format!("frozen {} {target}: {} bytes ({} bytes of .mpy)", size.origin, size.data_bytes, size.mpy_bytes)
            })
            .collect();
        lines.push(format!(
            "frozen data: {} bytes, {} shared (qstrs, tables, strings)",
            self.total_bytes, self.shared_bytes
        ));
        lines
    }
}

/// (frozen file name, C symbol) for every object mpy-tool.py declares inside
/// a module's block, which starts at `// - frozen file name: X` and ends at
/// the next `////…` separator.
fn symbols_by_module(frozen_c: &str) -> Vec<(String, String)> {
    let mut current: Option<&str> = None;
    let mut found = Vec::new();
    for line in frozen_c.lines() {
        if line.starts_with("////") {
            current = None;
        } else if let Some(target) = line.strip_prefix("// - frozen file name: ") {
            current = Some(target.trim());
        } else if let (Some(target), Some(declaration)) = (current, line.strip_prefix("static const ")) {
            if let Some((declarator, _)) = declaration.split_once(" = ") {
                let name = declarator.split('[').next().unwrap_or(declarator);
                let name = name.rsplit([' ', '*']).next().unwrap_or(name);
                found.push((target.to_owned(), name.to_owned()));
            }
        }
    }
    found
}

/// Size of each defined data symbol of a wasm object file, by name, from
/// its `linking` section.
fn data_symbol_sizes(object: &[u8]) -> Result<BTreeMap<String, u64>> {
    let mut sizes = BTreeMap::new();
    for payload in Parser::new(0).parse_all(object) {
        let Payload::CustomSection(section) = payload.context("parsing the frozen modules' object file")? else {
            continue;
        };
        let KnownCustom::Linking(reader) = section.as_known() else { continue };
        for subsection in reader.subsections() {
            let Linking::SymbolTable(symbols) = subsection.context("reading the object's linking section")? else {
                continue;
            };
            for symbol in symbols {
                if let SymbolInfo::Data { name, symbol: Some(defined), .. } = symbol? {
                    sizes.insert(name.to_owned(), u64::from(defined.size));
                }
            }
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_attributed_to_the_block_of_their_module() {
        let text = "const qstr_hash_t mp_qstr_frozen_const_hashes[] = {\n\
                    ////////\n// frozen module app___init__\n// - frozen file name: app/__init__.py\n\
                    static const byte fun_data_app___init__[75] = {\n\
                    static const mp_raw_code_t *const children_app[] = {\n\
                    static const mp_rom_obj_tuple_t const_obj_app_0 = {{&mp_type_tuple}, 3, {\n\
                    ////////\nconst char mp_frozen_names[] = {\n";
        assert_eq!(
            symbols_by_module(text),
            vec![
                ("app/__init__.py".to_owned(), "fun_data_app___init__".to_owned()),
                ("app/__init__.py".to_owned(), "children_app".to_owned()),
                ("app/__init__.py".to_owned(), "const_obj_app_0".to_owned()),
            ]
        );
    }
}
