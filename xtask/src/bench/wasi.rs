//! Runs the WASI command module in-process under wasmtime, with just enough
//! of WASI preview 1 for a benchmark: arguments, captured stdout/stderr,
//! clocks and random bytes, and at most one preopened folder, read-only.
//! perf_bench programs are passed with `-c` and get no folder, so a run
//! measures the interpreter, not a host's file layer; the import benchmark
//! reads its package from the folder.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use wasmtime::{Caller, Config, Engine, Extern, Linker, Memory, Module, Store};

const WASI: &str = "wasi_snapshot_preview1";
const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EINVAL: i32 = 28;
const EISDIR: i32 = 31;
const ENOENT: i32 = 44;
const ENOSYS: i32 = 52;
const ENOTDIR: i32 = 54;
const EROFS: i32 = 69;
const ESPIPE: i32 = 70;
const ENOTCAPABLE: i32 = 76;

const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
/// The first descriptor after stdin, stdout and stderr: the preopen's.
const PREOPEN_FD: i32 = 3;

/// A compiled module, ready to be instantiated many times.
#[derive(Clone)]
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
    /// The preopened folder's name in the guest, if any.
    preopen: Option<Vec<u8>>,
    /// Open descriptors from `PREOPEN_FD` up: the preopen, then what the
    /// program opened.
    files: BTreeMap<i32, Open>,
}

/// A folder on the host to preopen, read-only, under a name in the guest.
pub struct Preopen<'a> {
    pub guest: &'a str,
    pub host: &'a Path,
}

enum Open {
    Dir(PathBuf),
    /// A whole file read on open, and the read position.
    File {
        bytes: Vec<u8>,
        position: u64,
    },
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
        self.run_with(args, None)
    }

    /// Like `run`, with a folder the program can read.
    pub fn run_with(&self, args: &[&str], preopen: Option<Preopen>) -> Result<WasmRun> {
        let started = Instant::now();
        let mut argv = vec![b"micropython".to_vec()];
        argv.extend(args.iter().map(|arg| arg.as_bytes().to_vec()));
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |t| t.as_nanos() as u64) | 1;
        let mut files = BTreeMap::new();
        if let Some(preopen) = &preopen {
            files.insert(PREOPEN_FD, Open::Dir(preopen.host.to_owned()));
        }
        let ctx = Ctx {
            args: argv,
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit: None,
            random: seed,
            preopen: preopen.map(|preopen| preopen.guest.as_bytes().to_vec()),
            files,
        };
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
    // stdin is empty: programs come in through `-c` or a file.
    linker.func_wrap(WASI, "fd_read", |mut caller: Caller<'_, Ctx>, fd: i32, iovs: i32, count: i32, read: i32| {
        let memory = memory(&mut caller)?;
        let (data, ctx) = memory.data_and_store_mut(&mut caller);
        let mut total = 0u32;
        if fd != 0 {
            let Some(Open::File { bytes, position }) = ctx.files.get_mut(&fd) else {
                return Ok(if ctx.files.contains_key(&fd) { EISDIR } else { EBADF });
            };
            for i in 0..count {
                let base = read_u32(data, iovs + 8 * i) as usize;
                let len = read_u32(data, iovs + 8 * i + 4) as usize;
                let from = (*position as usize).min(bytes.len());
                let chunk = &bytes[from..(from + len).min(bytes.len())];
                data[base..base + chunk.len()].copy_from_slice(chunk);
                *position += chunk.len() as u64;
                total += chunk.len() as u32;
            }
        }
        write_bytes(data, read, &total.to_le_bytes());
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "fd_fdstat_get", |mut caller: Caller<'_, Ctx>, fd: i32, out: i32| {
        let filetype = match caller.data().files.get(&fd) {
            _ if (0..=2).contains(&fd) => FILETYPE_CHARACTER_DEVICE,
            Some(Open::Dir(_)) => FILETYPE_DIRECTORY,
            Some(Open::File { .. }) => FILETYPE_REGULAR_FILE,
            None => return Ok(EBADF),
        };
        // Every right, no flags: path_open refuses what this host cannot do.
        let mut stat = [0u8; 24];
        stat[0] = filetype;
        stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        stat[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        let memory = memory(&mut caller)?;
        write_bytes(memory.data_mut(&mut caller), out, &stat);
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "fd_close", |mut caller: Caller<'_, Ctx>, fd: i32| {
        Ok(if (0..=2).contains(&fd) || caller.data_mut().files.remove(&fd).is_some() { ESUCCESS } else { EBADF })
    })?;
    linker.func_wrap(WASI, "fd_sync", |_: Caller<'_, Ctx>, _: i32| Ok(ESUCCESS))?;
    linker.func_wrap(WASI, "fd_prestat_get", |mut caller: Caller<'_, Ctx>, fd: i32, out: i32| {
        let Some(name) = caller.data().preopen.as_ref().filter(|_| fd == PREOPEN_FD) else { return Ok(EBADF) };
        // A directory (tag 0) and the length of its name.
        let mut prestat = [0u8; 8];
        prestat[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
        let memory = memory(&mut caller)?;
        write_bytes(memory.data_mut(&mut caller), out, &prestat);
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "fd_prestat_dir_name", |mut caller: Caller<'_, Ctx>, fd: i32, out: i32, len: i32| {
        let Some(name) = caller.data().preopen.clone().filter(|_| fd == PREOPEN_FD) else { return Ok(EBADF) };
        if (len as usize) < name.len() {
            return Ok(EINVAL);
        }
        let memory = memory(&mut caller)?;
        write_bytes(memory.data_mut(&mut caller), out, &name);
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "fd_seek", |mut caller: Caller<'_, Ctx>, fd: i32, offset: i64, whence: i32, out: i32| {
        let Some(Open::File { bytes, position }) = caller.data_mut().files.get_mut(&fd) else { return Ok(ESPIPE) };
        let base = match whence {
            0 => 0,
            1 => *position as i64,
            2 => bytes.len() as i64,
            _ => return Ok(EINVAL),
        };
        let Some(target) = base.checked_add(offset).filter(|target| *target >= 0) else { return Ok(EINVAL) };
        *position = target as u64;
        let memory = memory(&mut caller)?;
        write_bytes(memory.data_mut(&mut caller), out, &(target as u64).to_le_bytes());
        Ok(ESUCCESS)
    })?;
    linker.func_wrap(WASI, "fd_readdir", |_: Caller<'_, Ctx>, _: i32, _: i32, _: i32, _: i64, _: i32| Ok(ENOSYS))?;
    linker.func_wrap(
        WASI,
        "path_open",
        |mut caller: Caller<'_, Ctx>,
         fd: i32,
         _dirflags: i32,
         path: i32,
         path_len: i32,
         oflags: i32,
         rights: i64,
         _inheriting: i64,
         _fdflags: i32,
         opened: i32| {
            const OFLAGS_CREAT_EXCL_TRUNC: i32 = 1 | 4 | 8;
            const OFLAGS_DIRECTORY: i32 = 2;
            const RIGHT_FD_WRITE: i64 = 1 << 6;
            if oflags & OFLAGS_CREAT_EXCL_TRUNC != 0 || rights & RIGHT_FD_WRITE != 0 {
                return Ok(EROFS);
            }
            let memory = memory(&mut caller)?;
            let (data, ctx) = memory.data_and_store_mut(&mut caller);
            let host_path = match ctx.resolve(fd, guest_bytes(data, path, path_len)) {
                Ok(host_path) => host_path,
                Err(errno) => return Ok(errno),
            };
            let open = match std::fs::metadata(&host_path) {
                Err(err) => return Ok(errno(&err)),
                Ok(meta) if meta.is_dir() => Open::Dir(host_path),
                Ok(_) if oflags & OFLAGS_DIRECTORY != 0 => return Ok(ENOTDIR),
                Ok(_) => match std::fs::read(&host_path) {
                    Ok(bytes) => Open::File { bytes, position: 0 },
                    Err(err) => return Ok(errno(&err)),
                },
            };
            let next = ctx.files.keys().next_back().map_or(PREOPEN_FD, |last| last + 1);
            ctx.files.insert(next, open);
            write_bytes(data, opened, &next.to_le_bytes());
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        WASI,
        "path_filestat_get",
        |mut caller: Caller<'_, Ctx>, fd: i32, _flags: i32, path: i32, path_len: i32, out: i32| {
            let memory = memory(&mut caller)?;
            let (data, ctx) = memory.data_and_store_mut(&mut caller);
            let meta = match ctx.resolve(fd, guest_bytes(data, path, path_len)).map(std::fs::metadata) {
                Ok(Ok(meta)) => meta,
                Ok(Err(err)) => return Ok(errno(&err)),
                Err(errno) => return Ok(errno),
            };
            // dev, ino, filetype, nlink, size, then three times left at 0.
            let mut stat = [0u8; 64];
            stat[16] = if meta.is_dir() { FILETYPE_DIRECTORY } else { FILETYPE_REGULAR_FILE };
            stat[24..32].copy_from_slice(&1u64.to_le_bytes());
            stat[32..40].copy_from_slice(&meta.len().to_le_bytes());
            write_bytes(data, out, &stat);
            Ok(ESUCCESS)
        },
    )?;
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

impl Ctx {
    /// The host path of `path`, relative to the folder open as `fd`. The
    /// folder is the project's own, so its symbolic links are followed; `..`
    /// may not climb out of it.
    fn resolve(&self, fd: i32, path: &[u8]) -> Result<PathBuf, i32> {
        let dir = match self.files.get(&fd) {
            Some(Open::Dir(dir)) => dir,
            Some(Open::File { .. }) => return Err(ENOTDIR),
            None => return Err(EBADF),
        };
        let path = std::str::from_utf8(path).map_err(|_| EINVAL)?;
        let mut resolved = dir.clone();
        let mut depth = 0usize;
        for component in Path::new(path).components() {
            match component {
                Component::Normal(name) => {
                    resolved.push(name);
                    depth += 1;
                }
                Component::CurDir => {}
                Component::ParentDir if depth > 0 => {
                    resolved.pop();
                    depth -= 1;
                }
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(ENOTCAPABLE),
            }
        }
        Ok(resolved)
    }
}

fn guest_bytes(data: &[u8], at: i32, len: i32) -> &[u8] {
    let at = at as u32 as usize;
    &data[at..at + len as u32 as usize]
}

fn errno(err: &std::io::Error) -> i32 {
    match err.kind() {
        std::io::ErrorKind::NotFound => ENOENT,
        std::io::ErrorKind::NotADirectory => ENOTDIR,
        std::io::ErrorKind::IsADirectory => EISDIR,
        _ => EINVAL,
    }
}

fn monotonic_nanos() -> u64 {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_preopened_folder() {
        let ctx = Ctx {
            args: Vec::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit: None,
            random: 1,
            preopen: Some(b"/app".to_vec()),
            files: BTreeMap::from([(PREOPEN_FD, Open::Dir(PathBuf::from("/host/app")))]),
        };
        assert_eq!(ctx.resolve(PREOPEN_FD, b"pkg/./mod.py"), Ok(PathBuf::from("/host/app/pkg/mod.py")));
        assert_eq!(ctx.resolve(PREOPEN_FD, b"pkg/../mod.py"), Ok(PathBuf::from("/host/app/mod.py")));
        assert_eq!(ctx.resolve(PREOPEN_FD, b"."), Ok(PathBuf::from("/host/app")));
        assert_eq!(ctx.resolve(PREOPEN_FD, b"../secret"), Err(ENOTCAPABLE));
        assert_eq!(ctx.resolve(PREOPEN_FD, b"/etc/passwd"), Err(ENOTCAPABLE));
        assert_eq!(ctx.resolve(PREOPEN_FD + 1, b"mod.py"), Err(EBADF));
    }
}
