// Node entry: reads the module beside this file from disk.
import * as fs from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
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

// A host folder as a store for fs.js: paths arrive normalised ("/a/b",
// never above the folder's root). `{ path, writable }`, or a path to mount
// read-only.
function folder(mount) {
  const { path, writable = false } = typeof mount === "object" && !(mount instanceof URL) ? mount : { path: mount };
  const root = resolve(path instanceof URL ? fileURLToPath(path) : String(path));
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`cannot mount ${root}: not a folder`);
  const at = (p) => root + p;
  const change = (body) => (path, ...rest) => (writable ? body(at(path), ...rest) : fail("EROFS"));
  return {
    stat(path) {
      const stat = fs.statSync(at(path));
      return { dir: stat.isDirectory(), size: stat.size, mtime: stat.mtimeMs };
    },
    readdir: (path) => fs.readdirSync(at(path), { withFileTypes: true }).map((entry) => [entry.name, entry.isDirectory()]),
    mkdir: change(fs.mkdirSync),
    rmdir: change(fs.rmdirSync),
    unlink: change(fs.unlinkSync),
    rename: change((from, to) => fs.renameSync(from, at(to))),
    open(path, { create, exclusive, truncate, write }) {
      if (write || create || truncate) change(() => {})(path);
      const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC } = fs.constants;
      const fd = fs.openSync(at(path), (write ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0) | (exclusive ? O_EXCL : 0) | (truncate ? O_TRUNC : 0));
      return {
        size: () => fs.fstatSync(fd).size,
        read: (into, position) => fs.readSync(fd, into, 0, into.length, position),
        write: (bytes, position) => fs.writeSync(fd, bytes, 0, bytes.length, position),
        close: () => fs.closeSync(fd),
      };
    },
  };
}

const fail = (code) => {
  throw code;
};

// The `mounts` option with each folder turned into a store.
export const mountFolders = (options = {}) => ({
  ...options,
  mounts: Object.fromEntries(Object.entries(options.mounts ?? {}).map(([at, mount]) => [at, folder(mount)])),
});

export async function loadMicroPython(options) {
  return instantiate(await load(options), mountFolders(options));
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
