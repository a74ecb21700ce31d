// Types of the package's API; the same for its Node and browser entries.

/** Where to get the WebAssembly module; by default the package's own `micropython.wasm`. */
export interface ModuleSource {
  /** URL (or, in Node, file path) of `micropython.wasm`. */
  url?: string | URL;
  /** The module's bytes, or a module compiled once and shared between interpreters. */
  module?: WebAssembly.Module | BufferSource;
}

export interface OutputOptions {
  /**
   * Receives what Python writes to stdout. With `linebuffer` (the default),
   * one call per line without its newline; otherwise text as it is written.
   * Default: `console.log`, line by line.
   */
  stdout?: (text: string) => void;
  /** Same as `stdout` for stderr. Default: `console.error`, line by line. */
  stderr?: (text: string) => void;
  /** Deliver output whole lines at a time (default true). */
  linebuffer?: boolean;
  /**
   * Bytes each of stdout and stderr may receive per call (default: no cap).
   * A call that writes more delivers the output up to the cap, then stops
   * with PythonOutputLimitError; the interpreter is not used again until
   * `reset()` (a Worker's next call starts a fresh one).
   */
  maxOutput?: number;
}

export interface HeapOptions {
  /**
   * Bytes of the Python heap: an integer from 16 KiB to 1 GiB (default
   * 8 MiB). Anything else rejects the load with a RangeError.
   */
  heapsize?: number;
}

/** A host folder to mount: its path (read-only), or `{ path, writable }`. Node only. */
export type Mount = string | URL | { path: string | URL; writable?: boolean };

export interface FileOptions {
  /**
   * Bytes of file content the in-memory file system may hold (default
   * 64 MiB). A write past it fails: ENOSPC in Python, an Error with
   * `code: "ENOSPC"` from `mp.fs`. Mounted folders do not count.
   */
  fsLimit?: number;
  /**
   * Node folders to show Python at absolute paths, e.g.
   * `{ "/data": "./data", "/out": { path: "./out", writable: true } }`.
   * Writes to a read-only mount fail with EROFS. Paths cannot climb out of
   * a mount with `..`, but symbolic links inside the folder are followed.
   * In browsers a mount is an error. A Worker runner takes paths as strings.
   */
  mounts?: Record<string, Mount>;
}

/** What `mp.fs.stat` returns: the part of Node's `fs.Stats` that applies. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  directory: boolean;
  isFile(): boolean;
  isDirectory(): boolean;
}

/**
 * The interpreter's files: the same ones Python reaches with `open()`, `os`
 * and `import` (`/lib` is on `sys.path`). Paths are absolute; names and
 * errors (`error.code`, e.g. "ENOENT") follow Node's `fs`. Files live in
 * memory (mounts aside) and survive `reset()`.
 */
export interface FileSystem {
  writeFile(path: string, data: string | ArrayBuffer | ArrayBufferView): void;
  readFile(path: string): Uint8Array;
  readFile(path: string, options: { encoding: string } | string): string;
  mkdir(path: string, options?: { recursive?: boolean }): void;
  /** The names in a directory. */
  readdir(path: string): string[];
  unlink(path: string): void;
  rmdir(path: string): void;
  rename(from: string, to: string): void;
  stat(path: string): FileStat;
  exists(path: string): boolean;
}

/** `FileSystem` as a Worker runner offers it: each call waits for the calls before it. */
export interface AsyncFileSystem {
  writeFile(path: string, data: string | ArrayBuffer | ArrayBufferView): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  readFile(path: string, options: { encoding: string } | string): Promise<string>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  readdir(path: string): Promise<string[]>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** The stat's data, without its methods (they do not cross postMessage). */
  stat(path: string): Promise<Omit<FileStat, "isFile" | "isDirectory">>;
  exists(path: string): Promise<boolean>;
}

export interface LoadOptions extends ModuleSource, OutputOptions, HeapOptions, FileOptions {
  /**
   * Called when Python reads stdin (`input()`, `sys.stdin`) and nothing is
   * buffered; return the next chunk, or null/undefined at end of input.
   */
  stdin?: () => string | Uint8Array | null | undefined;
}

/** Any JSON-compatible value: what crosses between Python and JavaScript. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A JavaScript function Python calls as `host.name(*args)` or
 * `host.call("name", *args)`. Arguments and result cross as JSON; `undefined`
 * becomes None, and a thrown error becomes `host.HostError` in Python. In
 * `runPythonAsync` a returned Promise is awaitable in Python
 * (`await host.name()`), its rejection raising `host.HostError`.
 */
export type JsFunction = (...args: any[]) => unknown;

export interface RunOptions {
  /** Echo the value of expression statements, as the REPL does. */
  repl?: boolean;
}

/** An interpreter in the current thread. Its state persists between calls. */
export interface MicroPython {
  /** Runs `code` in `__main__`; throws PythonError if it raises. */
  runPython(code: string, options?: RunOptions): void;
  /**
   * Runs `code` with top-level `await`: asyncio tasks run on the JavaScript
   * event loop (`asyncio.sleep` lets it run), and host functions' Promises
   * can be awaited. Resolves when the snippet is done (tasks it left behind
   * keep running on the event loop); rejects with PythonError. Runs queue
   * one after another.
   */
  runPythonAsync(code: string): Promise<void>;
  /** The interpreter's files. */
  fs: FileSystem;
  /** Evaluates one expression and returns its value (it must be JSON-serialisable). */
  evalPython<T = JsonValue>(expression: string): T;
  /** Makes `fn` callable from Python as `host.<name>(...)`; it may return a Promise only in `runPythonAsync`. */
  registerJsFunction(name: string, fn: JsFunction): void;
  unregisterJsFunction(name: string): void;
  /** True if `code` is an incomplete statement that a REPL should keep reading. */
  needsMoreInput(code: string): boolean;
  /**
   * Replaces the interpreter with a fresh one (all Python state is lost;
   * registered functions stay), as after a heap filled by globals,
   * `micropython.heap_lock()` or PythonOutputLimitError. Rejects if called
   * while Python is running.
   */
  reset(): Promise<void>;
}

export function loadMicroPython(options?: LoadOptions): Promise<MicroPython>;

export interface WorkerOptions extends ModuleSource, OutputOptions, HeapOptions, WorkerCallOptions, FileOptions {
  /**
   * Called in the calling thread when Python in the Worker reads stdin and
   * nothing is buffered; return (or resolve to) the next chunk, or null at
   * end of input. The Worker waits for it on a SharedArrayBuffer: in a
   * browser page that is not cross-origin isolated, input() raises OSError.
   * The wait counts towards the timeout.
   */
  stdin?: () => string | null | undefined | Promise<string | null | undefined>;
}

export interface WorkerCallOptions {
  /**
   * Milliseconds, from 1 to 2147483647 (setTimeout's range), after which a
   * call stops its interpreter (default: none); anything else is a
   * RangeError. In a call's options it overrides the runner's.
   */
  timeout?: number;
}

/**
 * An interpreter in a Worker, so runaway code can be stopped: a call that
 * exceeds its timeout (waiting in `time.sleep` included, and a result that
 * reaches a busy main thread late) terminates the Worker and rejects with
 * PythonTimeoutError; the next call starts a fresh interpreter (all Python
 * state is lost). Calls run one at a time, in order. Registered functions run
 * in the calling thread and may be async; in browsers they need
 * SharedArrayBuffer, i.e. a cross-origin isolated page.
 */
export interface MicroPythonWorker {
  runPython(code: string, options?: WorkerCallOptions): Promise<void>;
  evalPython<T = JsonValue>(expression: string, options?: WorkerCallOptions): Promise<T>;
  /**
   * `runPython` with top-level `await`, as in the in-thread interpreter but
   * needing no SharedArrayBuffer: every host call made during it returns an
   * awaitable (the answer comes back as a message), so `await` each one.
   * The timeout stops a task that never finishes, as any call.
   */
  runPythonAsync(code: string, options?: WorkerCallOptions): Promise<void>;
  /** The Worker's files, reached between calls. */
  fs: AsyncFileSystem;
  registerJsFunction(name: string, fn: JsFunction): void;
  unregisterJsFunction(name: string): void;
  /** Replaces the interpreter with a fresh one, rejecting the call in progress. */
  restart(): Promise<void>;
  /** Stops the Worker now, rejecting the call in progress; a later call starts a new one. */
  terminate(): void;
}

export function loadMicroPythonWorker(options?: WorkerOptions): Promise<MicroPythonWorker>;

/** An uncaught Python exception. `message` is "Type: value". */
export class PythonError extends Error {
  constructor(detail: { type: string; message: string; traceback: string }, exitCode?: number);
  name: "PythonError";
  /** The exception's class name, e.g. "ValueError". */
  type: string;
  /** `str()` of the exception. */
  value: string;
  /** The traceback as Python prints it, ending with "Type: value\n". */
  traceback: string;
  /** Set for SystemExit: the exit status it asked for. */
  exitCode?: number;
}

/**
 * A call that wrote more than `maxOutput` bytes to one stream. An in-thread
 * interpreter refuses further calls until `reset()`; a Worker's next call
 * starts a fresh interpreter.
 */
export class PythonOutputLimitError extends Error {
  constructor(stream: "stdout" | "stderr", limit: number);
  name: "PythonOutputLimitError";
  /** The stream that went over. */
  stream: "stdout" | "stderr";
  /** The cap in bytes. */
  limit: number;
}

/** A worker call that ran past its timeout. */
export class PythonTimeoutError extends Error {
  constructor(timeout: number);
  name: "PythonTimeoutError";
  /** The timeout in milliseconds. */
  timeout: number;
}
