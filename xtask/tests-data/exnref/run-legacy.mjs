// Runs exports of a module that uses legacy exception handling, which Node 20
// executes natively, and prints one outcome per call as JSON, in the same
// spelling as the wasmtime side of the tests in xtask/src/postprocess/exnref.rs.
//   node run-legacy.mjs MODULE.wasm '[["export", [arg, ...]], ...]'
import fs from 'node:fs';

const [wasmPath, callsJson] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), {});
const outcomes = JSON.parse(callsJson).map(([name, args]) => {
  try {
    const result = instance.exports[name](...args);
    const values = result === undefined ? [] : Array.isArray(result) ? result : [result];
    return values.map(String).join(' ');
  } catch (e) {
    return e instanceof WebAssembly.Exception ? 'throw' : `trap: ${e.message}`;
  }
});
console.log(JSON.stringify(outcomes));
