//! Runs the WASI command module in-process under wasmtime, with just enough
//! of WASI preview 1 for a benchmark: arguments, captured stdout/stderr,
//! clocks and random bytes. No file system: every program is passed with
//! `-c`, so a run measures the interpreter, not a host's file layer.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use wasmtime::{Caller, Config, Engine, Extern, Linker, Memory, Module, Store};

const WASI: &str = "wasi_snapshot_preview1";
const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;
const ESPIPE: i32 = 70;

/// A compiled module, ready to be instantiated many times.
pub struct WasmtimeHost {
    engine: Engine,
    module: Module,
    linker: Linker<Ctx>,
    fuel: bool,
}

/// What one run of the module did.
pub struct WasmRun {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// Size of linear memory at exit: it only grows, so this is the peak.
    pub memory_bytes: u64,
    pub elapsed: Duration,
}

struct Ctx {
    args: Vec<Vec<u8>>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i32>,
    random: u64,
}

impl WasmtimeHost {
    /// Compiles the exnref form of the module (the form wasmtime runs),
    /// with fuel metering when `fuel` is set.
    pub fn new(module_path: &Path, fuel: bool) -> Result<WasmtimeHost> {
        let mut config = Config::new();
        config.wasm_exceptions(true).consume_fuel(fuel);
        let engine = Engine::new(&config).map_err(|err| anyhow!("configuring wasmtime: {err}"))?;
        let bytes = std::fs::read(module_path).with_context(|| format!("reading {}", module_path.display()))?;
        let module = Module::new(&engine, &bytes)
            .map_err(|err| anyhow!("wasmtime could not compile {}: {err}", module_path.display()))?;
        let mut linker = Linker::new(&engine);
        define_wasi(&mut linker).map_err(|err| anyhow!("defining WASI imports: {err}"))?;
        Ok(WasmtimeHost { engine, module, linker, fuel })
    }

    /// Instantiates the module and runs `_start` with `args` (after argv[0]).
    pub fn run(&self, args: &[&str]) -> Result<WasmRun> {
        let started = Instant::now();
        let mut argv = vec![b"micropython".to_vec()];
        argv.extend(args.iter().map(|arg| arg.as_bytes().to_vec()));
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |t| t.as_nanos() as u64) | 1;
        let ctx = Ctx { args: argv, stdout: Vec::new(), stderr: Vec::new(), exit: None, random: seed };
        let mut store = Store::new(&self.engine, ctx);
        if self.fuel {
            store.set_fuel(u64::MAX).map_err(|err| anyhow!("{err}"))?;
        }
        let instance =
            self.linker.instantiate(&mut store, &self.module).map_err(|err| anyhow!("instantiating: {err}"))?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(|err| anyhow!("the module has no _start: {err}"))?;
        let outcome = start.call(&mut store, ());
        let status = match (outcome, store.data().exit) {
            (_, Some(code)) => code,
            (Ok(()), None) => 0,
            (Err(err), None) => {
                store.data_mut().stderr.extend(format!("[wasm trap] {err:?}\n").bytes());
                -1
            }
        };
        let memory_bytes = instance.get_memory(&mut store, "memory").map_or(0, |m| m.data_size(&store) as u64);
        let elapsed = started.elapsed();
        let ctx = store.into_data();
        Ok(WasmRun {
            status,
            stdout: String::from_utf8_lossy(&ctx.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&ctx.stderr).into_owned(),
            memory_bytes,
            elapsed,
        })
    }
}

fn memory(caller: &mut Caller<'_, Ctx>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::Error::msg("the module exports no memory")),
    }
}

fn read_u32(data: &[u8], at: i32) -> u32 {
    let at = at as u32 as usize;
    u32::from_le_bytes(data[at..at + 4].try_into().expect("four bytes"))
}

fn write_bytes(data: &mut [u8], at: i32, bytes: &[u8]) {
    let at = at as u32 as usize;
    data[at..at + bytes.len()].copy_from_slice(bytes);
}

/// Writes a list of strings the way `args_get`/`environ_get` lay them out.
fn write_strings(data: &mut [u8], pointers: i32, buffer: i32, strings: &[Vec<u8>]) {
    let mut offset = buffer as u32;
    for (i, string) in strings.iter().enumerate() {
        write_bytes(data, pointers + 4 * i as i32, &offset.to_le_bytes());
        write_bytes(data, offset as i32, string);
        write_bytes(data, offset as i32 + string.len() as i32, &[0]);
        offset += string.len() as u32 + 1;
    }
}

fn define_wasi(linker: &mut Linker<Ctx>) -> wasmtime::Result<()> {
    linker.func_wrap(WASI, "args_sizes_get", |mut caller: Caller<'_, Ctx>, count: i32, size: i32| {
        let memory = memory(&mut caller)?;
        let args = caller.data().args.clone();
        let total: usize = args.iter().map(|arg| arg.len() + 1).sum();
        let data = memory.data_mut(&mut caller);
        write_bytes(data, count, &(args.len() as u32).to_le_bytes());
        write_bytes(data, size, &(total as u32).to_le_bytes());
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "args_get", |mut caller: Caller<'_, Ctx>, pointers: i32, buffer: i32| {
        let memory = memory(&mut caller)?;
        let args = caller.data().args.clone();
        write_strings(memory.data_mut(&mut caller), pointers, buffer, &args);
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "environ_sizes_get", |mut caller: Caller<'_, Ctx>, count: i32, size: i32| {
        let memory = memory(&mut caller)?;
        let data = memory.data_mut(&mut caller);
        write_bytes(data, count, &0u32.to_le_bytes());
        write_bytes(data, size, &0u32.to_le_bytes());
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "environ_get", |_: Caller<'_, Ctx>, _: i32, _: i32| Ok(ESUCCESS))?;
    linker.func_wrap(
        WASI,
        "clock_time_get",
        |mut caller: Caller<'_, Ctx>, clock: i32, _precision: i64, out: i32| {
            let nanos = match clock {
                0 => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.as_nanos() as u64),
                1..=3 => monotonic_nanos(),
                _ => return Ok(EINVAL),
            };
            let memory = memory(&mut caller)?;
            write_bytes(memory.data_mut(&mut caller), out, &nanos.to_le_bytes());
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut caller: Caller<'_, Ctx>, fd: i32, iovs: i32, count: i32, written: i32| {
            let memory = memory(&mut caller)?;
            let (data, ctx) = memory.data_and_store_mut(&mut caller);
            let sink = match fd {
                1 => &mut ctx.stdout,
                2 => &mut ctx.stderr,
                _ => return Ok(EBADF),
            };
            let mut total = 0u32;
            for i in 0..count {
                let base = read_u32(data, iovs + 8 * i) as usize;
                let len = read_u32(data, iovs + 8 * i + 4) as usize;
                sink.extend_from_slice(&data[base..base + len]);
                total += len as u32;
            }
            write_bytes(data, written, &total.to_le_bytes());
            Ok(ESUCCESS)
        },
    )?;
    // stdin is empty: programs come in through `-c`.
    linker.func_wrap(WASI, "fd_read", |mut caller: Caller<'_, Ctx>, fd: i32, _: i32, _: i32, read: i32| {
        if fd != 0 {
            return Ok(EBADF);
        }
        let memory = memory(&mut caller)?;
        write_bytes(memory.data_mut(&mut caller), read, &0u32.to_le_bytes());
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "fd_fdstat_get", |mut caller: Caller<'_, Ctx>, fd: i32, out: i32| {
        if !(0..=2).contains(&fd) {
            return Ok(EBADF);
        }
        // A character device with every right: filetype 2, no flags.
        let mut stat = [0u8; 24];
        stat[0] = 2;
        stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        stat[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        let memory = memory(&mut caller)?;
        write_bytes(memory.data_mut(&mut caller), out, &stat);
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "fd_close", |_: Caller<'_, Ctx>, _: i32| Ok(ESUCCESS))?;
    linker.func_wrap(WASI, "fd_sync", |_: Caller<'_, Ctx>, _: i32| Ok(ESUCCESS))?;
    linker.func_wrap(WASI, "fd_prestat_get", |_: Caller<'_, Ctx>, _: i32, _: i32| Ok(EBADF))?;
    linker.func_wrap(WASI, "fd_prestat_dir_name", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32| Ok(EBADF))?;
    linker.func_wrap(WASI, "fd_seek", |_: Caller<'_, Ctx>, _: i32, _: i64, _: i32, _: i32| Ok(ESPIPE))?;
    linker.func_wrap(WASI, "fd_readdir", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32, _: i64, _: i32| Ok(ENOSYS))?;
    linker.func_wrap(
        WASI,
        "path_open",
        |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i64, _: i64, _: i32, _: i32| Ok(ENOSYS),
    )?;
    linker.func_wrap(WASI, "path_filestat_get", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32, _: i32, _: i32| {
        Ok(ENOSYS)
    })?;
    linker.func_wrap(WASI, "path_create_directory", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32| Ok(ENOSYS))?;
    linker.func_wrap(WASI, "path_remove_directory", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32| Ok(ENOSYS))?;
    linker.func_wrap(WASI, "path_unlink_file", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32| Ok(ENOSYS))?;
    linker.func_wrap(WASI, "path_rename", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| {
        Ok(ENOSYS)
    })?;
    linker.func_wrap(WASI, "poll_oneoff", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32, _: i32| Ok(ENOSYS))?;
    linker.func_wrap(WASI, "random_get", |mut caller: Caller<'_, Ctx>, buffer: i32, len: i32| {
        let memory = memory(&mut caller)?;
        let (data, ctx) = memory.data_and_store_mut(&mut caller);
        for i in 0..len {
            // xorshift: benchmarks need varied bytes, not secret ones.
            ctx.random ^= ctx.random << 13;
            ctx.random ^= ctx.random >> 7;
            ctx.random ^= ctx.random << 17;
            data[(buffer + i) as u32 as usize] = ctx.random as u8;
        }
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "proc_exit", |mut caller: Caller<'_, Ctx>, code: i32| -> wasmtime::Result<()> {
        caller.data_mut().exit = Some(code);
        Err(wasmtime::Error::msg("proc_exit"))
    })?;
    Ok(())
}

fn monotonic_nanos() -> u64 {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
