//! The port's malloc (`ports/wasm/malloc.c`), compiled with a driver of its
//! own (`xtask/tests-data/malloc/stress.c`) into a small module and run
//! under wasmtime in 64 MiB of memory.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use wasmtime::{Engine, Instance, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, TypedFunc};

use crate::project;
use crate::toolchain::Toolchain;

const MEMORY_LIMIT: usize = 64 << 20;

/// Compiles the allocator as the build does, the driver without clang's
/// knowledge of malloc, and links them into a reactor at `output`.
fn compile(output: &Path) {
    let toolchain = Toolchain::detect().expect("the build toolchain is installed");
    let root = project::repo_root();
    let dir = output.parent().expect("the module goes in a folder");
    let wasm_ld = toolchain.clang.with_file_name("wasm-ld");
    let clang = |args: &[&OsStr]| {
        let result = Command::new(&toolchain.clang)
            // As link.rs: no wasm-opt from PATH after linking.
            .env("PATH", "")
            .args(["--target=wasm32-wasi", "-O2", "-mbulk-memory", "-Wall", "-Werror"])
            .arg(format!("--sysroot={}", toolchain.sysroot.display()))
            .args(args)
            .output()
            .expect("clang runs");
        assert!(result.status.success(), "clang {args:?} failed:\n{}", String::from_utf8_lossy(&result.stderr));
    };
    let allocator = dir.join("malloc.o");
    let driver = dir.join("stress.o");
    clang(&["-c".as_ref(), root.join("ports/wasm/malloc.c").as_os_str(), "-o".as_ref(), allocator.as_os_str()]);
    clang(&[
        "-c".as_ref(),
        "-fno-builtin".as_ref(),
        root.join("xtask/tests-data/malloc/stress.c").as_os_str(),
        "-o".as_ref(),
        driver.as_os_str(),
    ]);
    let linker = format!("-fuse-ld={}", wasm_ld.display());
    clang(&[
        "-mexec-model=reactor".as_ref(),
        linker.as_ref(),
        allocator.as_os_str(),
        driver.as_os_str(),
        "-o".as_ref(),
        output.as_os_str(),
    ]);
}

struct Driver {
    store: Store<StoreLimits>,
    instance: Instance,
}

impl Driver {
    fn new() -> Driver {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("malloc.wasm");
        compile(&path);
        let engine = Engine::default();
        let module = Module::from_file(&engine, &path).unwrap();
        let mut store = Store::new(&engine, StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build());
        store.limiter(|limits| limits);
        let mut linker = Linker::new(&engine);
        // The C library's start-up may import WASI; the driver calls none of it.
        linker.define_unknown_imports_as_traps(&module).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let initialize = instance.get_typed_func::<(), ()>(&mut store, "_initialize").unwrap();
        initialize.call(&mut store, ()).unwrap();
        Driver { store, instance }
    }

    fn call(&mut self, name: &str, arg: Option<i32>) -> i32 {
        match arg {
            Some(arg) => {
                let func: TypedFunc<i32, i32> = self.instance.get_typed_func(&mut self.store, name).unwrap();
                func.call(&mut self.store, arg).unwrap()
            }
            None => {
                let func: TypedFunc<(), i32> = self.instance.get_typed_func(&mut self.store, name).unwrap();
                func.call(&mut self.store, ()).unwrap()
            }
        }
    }
}

#[test]
fn random_allocations_keep_their_contents_and_alignment() {
    let mut driver = Driver::new();
    assert_eq!(driver.call("stress", Some(20_000)), 0, "the driver's failed check (see stress.c)");
    let pages = driver.call("memory_pages", None);
    assert_eq!(driver.call("stress", Some(20_000)), 0);
    assert!(driver.call("memory_pages", None) <= pages + 8, "freed memory is reused: {pages} pages before");
}

#[test]
fn aligned_requests_are_aligned_and_bad_alignments_refused() {
    assert_eq!(Driver::new().call("aligned", None), 0, "the driver's failed check (see stress.c)");
}

#[test]
fn big_blocks_freed_one_after_another_reuse_their_memory() {
    // 20 rounds of 8 MiB in 64 MiB of memory.
    assert_eq!(Driver::new().call("reuse", Some(20)), 0, "a big block could not be allocated again");
}

#[test]
fn requests_beyond_memory_fail_with_enomem() {
    assert_eq!(Driver::new().call("impossible", None), 0, "the driver's failed check (see stress.c)");
}
