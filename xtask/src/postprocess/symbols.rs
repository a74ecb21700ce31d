//! Size attribution: how many bytes each section and each function takes,
//! read before names are stripped and kept beside the module as JSON.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use wasmparser::{KnownCustom, Name, Parser, Payload};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SymbolMap {
    /// Bytes of each section, by section name (custom sections as
    /// `custom:<name>`).
    pub sections: BTreeMap<String, u64>,
    /// Every defined function with its body size, largest first.
    pub functions: Vec<FunctionSize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionSize {
    pub name: String,
    pub bytes: u64,
}

impl SymbolMap {
    pub fn of(module_bytes: &[u8]) -> Result<SymbolMap> {
        let mut sections = BTreeMap::new();
        let mut imported_functions = 0u32;
        let mut bodies: Vec<u64> = Vec::new();
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        for payload in Parser::new(0).parse_all(module_bytes) {
            let payload = payload.context("parsing the module for its symbol map")?;
            if let Some((id, range)) = payload.as_section() {
                let name = match &payload {
                    Payload::CustomSection(custom) => format!("custom:{}", custom.name()),
                    _ => section_name(id).to_owned(),
                };
                *sections.entry(name).or_insert(0) += range.len() as u64;
            }
            match payload {
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        if matches!(import?.ty, wasmparser::TypeRef::Func(_)) {
                            imported_functions += 1;
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => bodies.push(body.range().len() as u64),
                Payload::CustomSection(custom) => {
                    if let KnownCustom::Name(reader) = custom.as_known() {
                        for subsection in reader {
                            if let Ok(Name::Function(map)) = subsection {
                                for naming in map.into_iter().flatten() {
                                    names.insert(naming.index, naming.name.to_owned());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let mut functions: Vec<FunctionSize> = bodies
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let index = imported_functions + i as u32;
                FunctionSize {
                    name: names.get(&index).cloned().unwrap_or_else(|| format!("func[{index}]")),
                    bytes: *bytes,
                }
            })
            .collect();
        functions.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        Ok(SymbolMap { sections, functions })
    }
}

fn section_name(id: u8) -> &'static str {
    match id {
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "datacount",
        13 => "tag",
        _ => "other",
    }
}
