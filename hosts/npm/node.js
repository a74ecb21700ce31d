// Node entry: reads the module beside this file from disk.
import { readFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { moduleLoader, instantiate, workerRunner } from "./core.js";

export { PythonError, PythonOutputLimitError, PythonTimeoutError } from "./core.js";

// A string is a URL if it has a scheme (two letters or more, so that
// Windows drive letters stay paths), else a file path.
async function compileUrl(source) {
  const url = source instanceof URL || /^[a-z][a-z\d+.-]+:/i.test(source) ? new URL(source) : null;
  if (url && url.protocol !== "file:") {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
    return WebAssembly.compile(await response.arrayBuffer());
  }
  return WebAssembly.compile(await readFile(url ?? source));
}

const load = moduleLoader(new URL("./micropython.wasm", import.meta.url), compileUrl);

export async function loadMicroPython(options) {
  return instantiate(await load(options), options);
}

export const loadMicroPythonWorker = workerRunner((onMessage, onError) => {
  const worker = new Worker(new URL("./worker-node.js", import.meta.url));
  worker.on("message", onMessage);
  worker.on("error", onError);
  return {
    post: (message) => worker.postMessage(message),
    terminate: () => void worker.terminate(),
    busy: (busy) => (busy ? worker.ref() : worker.unref()),
  };
}, load);
