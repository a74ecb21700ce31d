// Benchmark host for Node, driven by `cargo xtask bench`:
//   node node-host.mjs ours MODULE.wasm warm RUNS
//   node node-host.mjs upstream PACKAGE_DIR warm RUNS
//       load and run `print(1)` RUNS times in this process after one
//       untimed run; prints the milliseconds of each as a JSON array.
//   node node-host.mjs upstream PACKAGE_DIR run HEAP_BYTES FILE
//       runs a Python file, printing what it prints (and cold start-up,
//       timed from outside, with FILE holding `print(1)`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [which, target, mode, ...rest] = process.argv.slice(2);

// A minimal WASI preview 1 for `-c print(1)`: node:wasi crashes (SIGSEGV)
// when one process starts many instances of a module that uses legacy
// exception handling, so the warm loop brings its own.
class Exit {
  constructor(code) {
    this.code = code;
  }
}

function wasiImports(args, getMemory, stdout) {
  const encoded = args.map((arg) => new TextEncoder().encode(arg + "\0"));
  const view = () => new DataView(getMemory().buffer);
  const bytes = () => new Uint8Array(getMemory().buffer);
  const ENOSYS = 52;
  const EBADF = 8;
  const handlers = {
    args_sizes_get(count, size) {
      view().setUint32(count, encoded.length, true);
      view().setUint32(size, encoded.reduce((n, a) => n + a.length, 0), true);
      return 0;
    },
    args_get(pointers, buffer) {
      for (const [i, arg] of encoded.entries()) {
        view().setUint32(pointers + 4 * i, buffer, true);
        bytes().set(arg, buffer);
        buffer += arg.length;
      }
      return 0;
    },
    environ_sizes_get(count, size) {
      view().setUint32(count, 0, true);
      view().setUint32(size, 0, true);
      return 0;
    },
    environ_get: () => 0,
    clock_time_get(clock, precision, out) {
      view().setBigUint64(out, BigInt(Math.round(performance.now() * 1e6)), true);
      return 0;
    },
    fd_write(fd, iovs, count, written) {
      let total = 0;
      for (let i = 0; i < count; i++) {
        const length = view().getUint32(iovs + 8 * i + 4, true);
        if (fd === 1 && stdout) {
          const start = view().getUint32(iovs + 8 * i, true);
          stdout.push(bytes().slice(start, start + length));
        }
        total += length;
      }
      view().setUint32(written, total, true);
      return fd === 1 || fd === 2 ? 0 : EBADF;
    },
    fd_read(fd, iovs, count, read) {
      view().setUint32(read, 0, true);
      return 0;
    },
    fd_fdstat_get: (fd) => (fd <= 2 ? 0 : EBADF),
    fd_prestat_get: () => EBADF,
    random_get(buffer, len) {
      crypto.getRandomValues(bytes().subarray(buffer, buffer + len));
      return 0;
    },
    proc_exit(code) {
      throw new Exit(code);
    },
  };
  return new Proxy(handlers, { get: (target, name) => target[name] ?? (() => ENOSYS) });
}

async function oursOnce(module, args = ["micropython", "-c", "print(1)"], stdout = undefined) {
  let memory;
  const imports = { wasi_snapshot_preview1: wasiImports(args, () => memory, stdout) };
  const instance = await WebAssembly.instantiate(module, imports);
  memory = instance.exports.memory;
  try {
    instance.exports._start();
    return 0;
  } catch (error) {
    if (error instanceof Exit) return error.code;
    throw error;
  }
}

async function upstreamOnce(load, heapsize, code) {
  let out = "";
  const mp = await load({ heapsize, stdout: (line) => (out += line + "\n"), linebuffer: true });
  mp.runPython(code);
  return out;
}

if (which === "ours" && mode === "warm") {
  const module = await WebAssembly.compile(readFileSync(target));
  const times = [];
  for (let i = 0; i <= Number(rest[0]); i++) {
    const start = performance.now();
    const status = await oursOnce(module);
    if (status !== 0) throw new Error(`print(1) exited with ${status}`);
    if (i > 0) times.push(performance.now() - start);
  }
  console.log(JSON.stringify(times));
} else if (which === "ours" && mode === "steady") {
  // The program twice in one process, printing what the second run printed:
  // by then V8 has optimised the interpreter's hot functions.
  const [heap, file] = rest;
  const module = await WebAssembly.compile(readFileSync(target));
  const args = ["micropython", "-X", `heapsize=${heap}`, "-c", readFileSync(file, "utf8")];
  let stdout = [];
  for (let run = 0; run < 2; run++) {
    stdout = [];
    const status = await oursOnce(module, args, stdout);
    if (status !== 0) throw new Error(`the program exited with ${status}`);
  }
  process.stdout.write(Buffer.concat(stdout));
} else if (which === "upstream") {
  const { loadMicroPython } = await import(pathToFileURL(join(target, "micropython.mjs")).href);
  if (mode === "warm") {
    const times = [];
    for (let i = 0; i <= Number(rest[0]); i++) {
      const start = performance.now();
      const out = await upstreamOnce(loadMicroPython, 1024 * 1024, "print(1)");
      if (out !== "1\n") throw new Error(`print(1) printed ${JSON.stringify(out)}`);
      if (i > 0) times.push(performance.now() - start);
    }
    console.log(JSON.stringify(times));
  } else if (mode === "run") {
    const [heap, file] = rest;
    process.stdout.write(await upstreamOnce(loadMicroPython, Number(heap), readFileSync(file, "utf8")));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} else {
  throw new Error(`usage: node-host.mjs ours|upstream TARGET warm|run|steady ...`);
}
