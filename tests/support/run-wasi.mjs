// Runs a WASI command module under Node's WASI, for the integration tests:
//   node run-wasi.mjs MODULE.wasm [--dir HOST:GUEST]... -- [ARGS...]
// The module's exit status becomes this process's exit status.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";

const [modulePath, ...rest] = process.argv.slice(2);
const preopens = {};
let index = 0;
for (; index < rest.length && rest[index] !== "--"; index += 2) {
  if (rest[index] !== "--dir") throw new Error(`unknown option ${rest[index]}`);
  const [host, guest] = rest[index + 1].split(":");
  preopens[guest ?? host] = host;
}
const args = ["micropython", ...rest.slice(index + 1)];
const wasi = new WASI({ version: "preview1", args, env: {}, preopens, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(modulePath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
