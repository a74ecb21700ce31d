//! The import/export audit: a module may import only WASI preview 1 and the
//! host functions its artifact declares, and must export exactly its API.

use std::collections::BTreeSet;

use anyhow::{bail, Result};

/// Every function of WASI preview 1 (`wasi_snapshot_preview1`).
const WASI_PREVIEW1: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// What a module is allowed to import and must export.
pub struct Expectations<'a> {
    /// Extra imports as "module.name" (the artifact's host functions).
    pub host_imports: &'a [String],
    pub exports: &'a [String],
}

/// Fails, naming every offender, if the module imports anything outside the
/// allowlist or its exports differ from the declared API.
pub fn check(module: &walrus::Module, expected: &Expectations) -> Result<()> {
    let mut problems = Vec::new();
    for import in module.imports.iter() {
        let allowed = (import.module == WASI_MODULE && WASI_PREVIEW1.contains(&import.name.as_str()))
            || expected.host_imports.iter().any(|host| *host == format!("{}.{}", import.module, import.name));
        if !allowed {
            problems.push(format!(
                "unexpected import `{}.{}` (allowed: WASI preview 1 and {})",
                import.module,
                import.name,
                if expected.host_imports.is_empty() {
                    "no host functions".to_owned()
                } else {
                    expected.host_imports.join(", ")
                }
            ));
        }
    }
    let actual: BTreeSet<&str> = module.exports.iter().map(|export| export.name.as_str()).collect();
    let declared: BTreeSet<&str> = expected.exports.iter().map(String::as_str).collect();
    for extra in actual.difference(&declared) {
        problems.push(format!("unexpected export `{extra}` (not in the artifact's `exports` in port.toml)"));
    }
    for missing in declared.difference(&actual) {
        problems.push(format!("missing export `{missing}` declared in port.toml"));
    }
    if !problems.is_empty() {
        bail!("import/export audit failed:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(wat: &str) -> walrus::Module {
        walrus::Module::from_buffer(&wat::parse_str(wat).unwrap()).unwrap()
    }

    const EXPORTS: &[&str] = &["_start", "memory"];

    fn expectations<'a>(host: &'a [String], exports: &'a [String]) -> Expectations<'a> {
        Expectations { host_imports: host, exports }
    }

    #[test]
    fn wasi_imports_and_declared_exports_pass() {
        let m = module(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (func (export "_start")))"#,
        );
        let exports: Vec<String> = EXPORTS.iter().map(|s| s.to_string()).collect();
        check(&m, &expectations(&[], &exports)).unwrap();
    }

    #[test]
    fn an_unexpected_import_is_named() {
        let m = module(
            r#"(module
                (import "env" "sneaky" (func))
                (import "wasi_snapshot_preview1" "not_a_wasi_call" (func))
                (memory (export "memory") 1)
                (func (export "_start")))"#,
        );
        let exports: Vec<String> = EXPORTS.iter().map(|s| s.to_string()).collect();
        let err = check(&m, &expectations(&[], &exports)).unwrap_err().to_string();
        assert!(err.contains("unexpected import `env.sneaky`"), "{err}");
        assert!(err.contains("unexpected import `wasi_snapshot_preview1.not_a_wasi_call`"), "{err}");
    }

    #[test]
    fn declared_host_imports_are_allowed() {
        let m = module(
            r#"(module
                (import "mpwasm" "host_call" (func))
                (memory (export "memory") 1)
                (func (export "_start")))"#,
        );
        let exports: Vec<String> = EXPORTS.iter().map(|s| s.to_string()).collect();
        check(&m, &expectations(&["mpwasm.host_call".to_owned()], &exports)).unwrap();
        assert!(check(&m, &expectations(&[], &exports)).is_err());
    }

    #[test]
    fn export_list_must_match_exactly() {
        let m = module(
            r#"(module
                (memory (export "memory") 1)
                (func (export "malloc")))"#,
        );
        let exports: Vec<String> = EXPORTS.iter().map(|s| s.to_string()).collect();
        let err = check(&m, &expectations(&[], &exports)).unwrap_err().to_string();
        assert!(err.contains("unexpected export `malloc`"), "{err}");
        assert!(err.contains("missing export `_start`"), "{err}");
    }
}
