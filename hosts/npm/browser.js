// Browser entry (also the `default` export condition): fetches the module
// beside this file with streaming compilation.
import { moduleLoader, instantiate, workerRunner } from "./core.js";

export { PythonError, PythonOutputLimitError, PythonTimeoutError } from "./core.js";

async function compileUrl(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  // Streaming compilation insists on the application/wasm content type.
  return response.headers.get("content-type")?.startsWith("application/wasm")
    ? WebAssembly.compileStreaming(response)
    : WebAssembly.compile(await response.arrayBuffer());
}

const load = moduleLoader(new URL("./micropython.wasm", import.meta.url), compileUrl);

export async function loadMicroPython(options) {
  return instantiate(await load(options), options);
}

export const loadMicroPythonWorker = workerRunner((onMessage, onError) => {
  const url = new URL("./worker.js", import.meta.url);
  const worker = new Worker(url, { type: "module" });
  worker.addEventListener("message", (event) => onMessage(event.data));
  // A script that fails to load gives an empty message; a cross-origin
  // isolated page needs Cross-Origin-Embedder-Policy on the worker's script.
  worker.addEventListener("error", (event) => onError(new Error(event.message || `cannot start ${url}`)));
  return { post: (message) => worker.postMessage(message), terminate: () => worker.terminate(), busy() {} };
}, load);
