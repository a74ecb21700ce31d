// Type-checked (never run) against the installed package's index.d.ts by
// `tsc --noEmit`: every documented call shape, and misuses that must fail.
import {
  loadMicroPython,
  loadMicroPythonWorker,
  PythonError,
  PythonTimeoutError,
  type JsonValue,
  type LoadOptions,
  type MicroPython,
  type MicroPythonWorker,
} from "mpwasm";

const options: LoadOptions = {
  heapsize: 1 << 20,
  stdout: (line: string) => console.log(line),
  stderr: (line) => console.error(line),
  linebuffer: true,
  stdin: () => null,
};
const mp: MicroPython = await loadMicroPython(options);
mp.registerJsFunction("add", (a: number, b: number) => a + b);
mp.unregisterJsFunction("add");
mp.runPython("print(1)");
mp.runPython("1 + 1", { repl: true });
const value: JsonValue = mp.evalPython("[1, 2]");
const more: boolean = mp.needsMoreInput("if x:");
await mp.reset();

try {
  mp.runPython("raise ValueError('boom')");
} catch (error) {
  if (error instanceof PythonError) {
    const summary: string = `${error.type}: ${error.value}\n${error.traceback}`;
    const status: number | undefined = error.exitCode;
    console.log(summary, status, error.message);
  }
}

const module: WebAssembly.Module = await WebAssembly.compileStreaming(fetch("/micropython.wasm"));
await loadMicroPython({ module });
await loadMicroPython({ module: new Uint8Array(8) });
await loadMicroPython({ url: new URL("https://example.org/micropython.wasm") });
await loadMicroPython({ url: "./micropython.wasm" });
await loadMicroPython();

const worker: MicroPythonWorker = await loadMicroPythonWorker({ timeout: 1000, module, stdout: console.log });
worker.registerJsFunction("later", async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
await worker.runPython("x = 1", { timeout: 50 });
const fromWorker: JsonValue = await worker.evalPython("x");
await worker.runPython("while True: pass").catch((error: unknown) => error instanceof PythonTimeoutError && error.timeout);
await worker.restart();
worker.terminate();

// @ts-expect-error the heap size is a number of bytes
await loadMicroPython({ heapsize: "1m" });
// @ts-expect-error runPython takes source text
mp.runPython(42);
// @ts-expect-error in-thread calls are synchronous: there is no timeout
mp.runPython("x", { timeout: 5 });
// @ts-expect-error output callbacks receive text
await loadMicroPython({ stdout: (bytes: Uint8Array) => bytes });

// Files and async runs.
const withFiles = await loadMicroPython({ fsLimit: 1 << 20, mounts: { "/data": "./data", "/out": { path: "./out", writable: true } } });
withFiles.fs.writeFile("/lib/util.py", "def twice(x):\n    return 2 * x\n");
withFiles.fs.writeFile("/raw.bin", new Uint8Array([1, 2]));
withFiles.fs.mkdir("/a/b", { recursive: true });
const text: string = withFiles.fs.readFile("/lib/util.py", { encoding: "utf8" });
const raw: Uint8Array = withFiles.fs.readFile("/raw.bin");
const names: string[] = withFiles.fs.readdir("/");
const isDirectory: boolean = withFiles.fs.stat("/a").isDirectory();
withFiles.registerJsFunction("later", async (x: number) => x + 1);
await withFiles.runPythonAsync("import util, host\nv = await host.later(util.twice(20))");
const workerText: string = await worker.fs.readFile("/out.txt", "utf8");
const workerSize: number = (await worker.fs.stat("/out.txt")).size;
await worker.runPythonAsync("import host\nawait host.later(1)", { timeout: 100 });
console.log(text, raw, names, isDirectory, workerText, workerSize);
// @ts-expect-error the in-thread fs is synchronous
await withFiles.fs.readFile("/x").then(() => {});
// @ts-expect-error a mount is a path or { path, writable }
await loadMicroPython({ mounts: { "/x": { writable: true } } });

const typed: number[] = mp.evalPython<number[]>("[1, 2]");
console.log(value, more, fromWorker, typed);
