// Runs the WASI command module the way MicroPython's test runners run the unix
// port's executable (`cargo xtask conformance` writes this file next to its
// results and points MICROPY_MICROPYTHON at a script that calls it):
//
//   node runner.mjs MODULE.wasm [ARGS...]
//
// The host file system is preopened whole at "/", and PWD tells main.c to
// start in this process's working directory, as run-tests.py expects. stdin,
// stdout, stderr and the exit status pass through; a trap prints one
// `[wasm trap]` line and exits 134, so reports can tell a trap from a
// Python-level failure.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";

const [modulePath, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: "preview1",
  args: ["micropython", ...args],
  env: { PWD: process.cwd() },
  preopens: { "/": "/" },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(modulePath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
try {
  process.exitCode = wasi.start(instance);
} catch (error) {
  // WebAssembly.RuntimeError for traps, RangeError when the engine's own
  // stack overflows: both end the module the same abrupt way.
  process.stderr.write(`[wasm trap] ${error.constructor.name}: ${error.message}\n`);
  process.exitCode = 134;
}
