//! The web bundle (`dist/web/`): the playground page (`hosts/web/`) with the
//! npm package's browser modules and its `micropython.wasm` beside it, a
//! static site that any file server can host.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::abi::{self, Api};
use super::npm;
use super::staging::Staging;
use crate::build::BuildOutput;

/// The page's own sources, embedded so that xtask alone can write the bundle.
const SOURCES: &[(&str, &str)] = &[
    ("index.html", include_str!("../../../hosts/web/index.html")),
    ("style.css", include_str!("../../../hosts/web/style.css")),
    ("app.js", include_str!("../../../hosts/web/app.js")),
    ("editor.js", include_str!("../../../hosts/web/editor.js")),
    ("examples.js", include_str!("../../../hosts/web/examples.js")),
];

/// Where the page imports the npm package's modules from (see app.js).
const PACKAGE_DIR: &str = "mpwasm";
/// The package's browser entry; everything else it needs is found from here.
const ENTRY: &str = "browser.js";

/// Stages `dist/web/`.
pub fn write_bundle(build: &BuildOutput, api: &Api, dist: &Path) -> Result<Staging> {
    let staging = Staging::new(&dist.join("web"))?;
    let dir = staging.path();
    for (name, text) in SOURCES {
        // Scripts ship minified like the package's; hosts/web stays readable.
        let text = if name.ends_with(".js") { npm::minify::minify(name, text)? } else { text.to_string() };
        fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))?;
    }
    let package = dir.join(PACKAGE_DIR);
    fs::create_dir(&package)?;
    let abi_js = abi::js_constants(api);
    let text_of = |name: &str| -> Option<&str> {
        if name == npm::ABI {
            return Some(&abi_js);
        }
        npm::SOURCES.iter().find(|(source, _)| *source == name).map(|(_, text)| *text)
    };
    for name in browser_files(&text_of)? {
        if name == npm::MODULE_NAME {
            // The npm package's module: the library, legacy exception
            // handling (what browsers run), the build's profile.
            let library = build.modules.get("library").context("the port builds no `library` module")?;
            fs::copy(library, package.join(&name)).with_context(|| format!("copying {}", library.display()))?;
        } else {
            // abi.js is generated and written as it is, as in the package.
            let text = match name.as_str() {
                npm::ABI => abi_js.clone(),
                _ => npm::shipped_source(&name, text_of(&name).expect("browser_files only lists known files"))?,
            };
            fs::write(package.join(&name), text).with_context(|| format!("writing {PACKAGE_DIR}/{name}"))?;
        }
    }
    // The module is MicroPython: its licence travels with it.
    let licence = build.source.root.join("LICENSE");
    fs::copy(&licence, dir.join("LICENSE")).with_context(|| format!("copying {}", licence.display()))?;
    Ok(staging)
}

/// The package files a browser loads, from the entry through its relative
/// imports and `new URL("./…", import.meta.url)` references (the Worker's
/// script and the module), so a file the package gains is not left out.
fn browser_files<'a>(text_of: &impl Fn(&str) -> Option<&'a str>) -> Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let mut pending = vec![ENTRY.to_string()];
    while let Some(name) = pending.pop() {
        if !found.insert(name.clone()) || !name.ends_with(".js") {
            continue;
        }
        let Some(text) = text_of(&name) else {
            bail!("the npm package's browser modules refer to `./{name}`, which the package does not have");
        };
        pending.extend(relative_references(text));
    }
    Ok(found)
}

/// `"./name"` strings after `from`, `import` or `new URL(`.
fn relative_references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices("\"./") {
        let before = text[..at].trim_end();
        if !(before.ends_with("from") || before.ends_with("import") || before.ends_with("new URL(")) {
            continue;
        }
        let rest = &text[at + 3..];
        if let Some(end) = rest.find('"') {
            names.push(rest[..end].to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the bundle takes from the package's own sources (abi.js,
    /// generated, imports nothing).
    fn package_browser_files() -> BTreeSet<String> {
        browser_files(&|name: &str| {
            if name == npm::ABI {
                return Some("");
            }
            npm::SOURCES.iter().find(|(source, _)| *source == name).map(|(_, text)| *text)
        })
        .unwrap()
    }

    #[test]
    fn finds_the_modules_the_browser_entry_reaches() {
        let files = package_browser_files();
        for expected in ["browser.js", "core.js", "fs.js", "worker.js", "abi.js", "micropython.wasm"] {
            assert!(files.contains(expected), "{expected} missing from {files:?}");
        }
        for node_only in ["node.js", "worker-node.js", "cli.js"] {
            assert!(!files.contains(node_only), "{node_only} is not for browsers");
        }
    }

    #[test]
    fn the_page_preloads_every_module_it_imports() {
        // A module found only once its importer runs costs a round trip
        // before the interpreter can start. The Worker's script is not
        // imported by the page, so it is not preloaded.
        let html = SOURCES.iter().find(|(name, _)| *name == "index.html").unwrap().1;
        let files = package_browser_files();
        for name in files.iter().filter(|name| name.ends_with(".js") && *name != "worker.js") {
            let link = format!("<link rel=\"modulepreload\" href=\"{PACKAGE_DIR}/{name}\" />");
            assert!(html.contains(&link), "index.html does not preload {name}");
        }
    }

    #[test]
    fn a_reference_to_a_missing_file_is_an_error() {
        let error = browser_files(&|name: &str| (name == ENTRY).then_some("import { x } from \"./gone.js\";"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("./gone.js"), "{error}");
    }

    #[test]
    fn the_page_imports_the_package_from_its_folder() {
        let app = SOURCES.iter().find(|(name, _)| *name == "app.js").unwrap().1;
        assert!(app.contains(&format!("from \"./{PACKAGE_DIR}/{ENTRY}\"")));
    }
}
