//! Core modules turned into WebAssembly components that target WASI 0.2
//! (through the WASI preview 1 adapter of wasmtime's release), and the audit
//! of what a component imports.

use anyhow::{bail, Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wasmparser::{Parser, Payload};

/// What kind of component a module becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `wasi:cli/command` (its `_start` becomes `wasi:cli/run`).
    Command,
    /// A reactor exporting the WIT world embedded in the module by its glue.
    Library,
}

/// WASI 0.2 interfaces a component may import (any 0.2.x release): what a
/// program printing, reading its preopened folders, the clocks and random
/// numbers needs. Sockets and HTTP are not among them.
const WASI_INTERFACES: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/preopens",
    "wasi:filesystem/types",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
];

/// The interface through which Python's `host` module calls the embedder.
pub const HOST_INTERFACE: &str = "mpwasm:micropython/host@0.1.0";

/// `module` (WASI preview 1) as a component, its imports audited.
pub fn componentize(module: &[u8], kind: Kind) -> Result<Vec<u8>> {
    let adapter = match kind {
        Kind::Command => WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        Kind::Library => WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)
        .context("reading the module and its WIT metadata")?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter)
        .context("adding the WASI preview 1 adapter")?
        .encode()
        .context("encoding the component")?;
    let allowed_host = match kind {
        Kind::Command => None,
        Kind::Library => Some(HOST_INTERFACE),
    };
    check_imports(&component, allowed_host)?;
    Ok(component)
}

/// The names a component imports at its top level.
pub fn imports(component: &[u8]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload.context("reading the component")? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    names.push(import.context("reading an import")?.name.0.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// Fails, naming each offender, if the component imports anything but the
/// WASI 0.2 interfaces above and `host` (the embedder's interface).
pub fn check_imports(component: &[u8], host: Option<&str>) -> Result<()> {
    let mut problems = Vec::new();
    for name in imports(component)? {
        let (interface, version) = name.split_once('@').unwrap_or((name.as_str(), ""));
        let wasi_0_2 = WASI_INTERFACES.contains(&interface) && version.starts_with("0.2.");
        if !wasi_0_2 && Some(name.as_str()) != host {
            problems.push(format!(
                "unexpected import `{name}` (allowed: WASI 0.2's cli, clocks, filesystem, io and random interfaces{})",
                host.map(|host| format!(" and {host}")).unwrap_or_default()
            ));
        }
    }
    if !problems.is_empty() {
        bail!("component import audit failed:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    #[test]
    fn wasi_0_2_and_the_host_interface_pass() {
        let bytes = component(
            r#"(component
                (import "wasi:cli/stdout@0.2.6" (instance))
                (import "mpwasm:micropython/host@0.1.0" (instance)))"#,
        );
        check_imports(&bytes, Some(HOST_INTERFACE)).unwrap();
        let err = check_imports(&bytes, None).unwrap_err().to_string();
        assert!(err.contains("unexpected import `mpwasm:micropython/host@0.1.0`"), "{err}");
    }

    #[test]
    fn sockets_and_other_versions_are_named() {
        let bytes = component(
            r#"(component
                (import "wasi:sockets/tcp@0.2.6" (instance))
                (import "wasi:cli/stdout@0.3.0" (instance)))"#,
        );
        let err = check_imports(&bytes, Some(HOST_INTERFACE)).unwrap_err().to_string();
        assert!(err.contains("`wasi:sockets/tcp@0.2.6`"), "{err}");
        assert!(err.contains("`wasi:cli/stdout@0.3.0`"), "{err}");
    }
}
