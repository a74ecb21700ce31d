//! The package's `package.json`, one typed field per key so that the shape is
//! checked by the compiler, and in the order npm and bundlers expect.

use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageJson<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub description: String,
    pub license: &'a str,
    pub keywords: &'a [&'a str],
    #[serde(rename = "type")]
    pub module_type: ModuleType,
    pub exports: Exports<'a>,
    /// For tools that predate `exports`.
    pub main: &'a str,
    pub types: &'a str,
    pub bin: Bin<'a>,
    pub files: Vec<&'a str>,
    pub side_effects: bool,
    pub engines: Engines<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleType {
    Module,
}

/// The `exports` map: the API entry point and the two files that are
/// reachable by their own specifiers.
#[derive(Serialize)]
pub struct Exports<'a> {
    #[serde(rename = ".")]
    pub root: Conditions<'a>,
    #[serde(rename = "./micropython.wasm")]
    pub wasm: &'a str,
    #[serde(rename = "./package.json")]
    pub manifest: &'a str,
}

/// Conditional exports; resolvers take the first that matches, so `types`
/// comes first and `default` last.
#[derive(Serialize)]
pub struct Conditions<'a> {
    pub types: &'a str,
    pub node: &'a str,
    pub browser: &'a str,
    pub default: &'a str,
}

/// `bin`: the command that `npx <package>` runs, named after the package.
pub struct Bin<'a> {
    pub command: &'a str,
    pub script: &'a str,
}

impl Serialize for Bin<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.command, self.script)?;
        map.end()
    }
}

#[derive(Serialize)]
pub struct Engines<'a> {
    pub node: &'a str,
}
