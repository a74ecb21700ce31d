// Node load+run time in a warm process: for each way of loading, the median
// (and fastest) of 20 loadMicroPython() + runPython("print(1)") after one
// warm-up, plus runPython alone on a loaded interpreter. Prints JSON.
import { readFile } from "node:fs/promises";
import { loadMicroPython } from "mpwasm";

const RUNS = 20;
const ms = (value) => [Number(value.toFixed(3)), "ms"];

function summary(times) {
  const sorted = times.slice(1).sort((a, b) => a - b);
  return { first: ms(times[0]), median: ms(sorted[sorted.length >> 1]), fastest: ms(sorted[0]) };
}

async function loadAndRun(options) {
  const times = [];
  for (let i = 0; i <= RUNS; i++) {
    const started = performance.now();
    const mp = await loadMicroPython({ ...options, stdout: () => {} });
    mp.runPython("print(1)");
    times.push(performance.now() - started);
  }
  return summary(times);
}

const bytes = await readFile(new URL(import.meta.resolve("mpwasm/micropython.wasm")));
const started = performance.now();
const module = await WebAssembly.compile(bytes);
const compile = ms(performance.now() - started);
const results = {
  node: process.version,
  compile,
  // The loader compiles the package's module on first use and caches it.
  load_and_run: await loadAndRun({}),
  load_and_run_precompiled: await loadAndRun({ module }),
  load_and_run_precompiled_1mib_heap: await loadAndRun({ module, heapsize: 1 << 20 }),
};
const mp = await loadMicroPython({ stdout: () => {} });
const runs = [];
for (let i = 0; i <= RUNS; i++) {
  const begin = performance.now();
  mp.runPython("print(1)");
  runs.push(performance.now() - begin);
}
results.run = summary(runs);
console.log(JSON.stringify(results));
