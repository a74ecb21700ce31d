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

export interface LoadOptions extends ModuleSource, OutputOptions, HeapOptions {
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
 * becomes None, and a thrown error becomes `host.HostError` in Python.
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
  /** Evaluates one expression and returns its value (it must be JSON-serialisable). */
  evalPython<T = JsonValue>(expression: string): T;
  /** Makes `fn` callable from Python as `host.<name>(...)`; it must not return a Promise. */
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

export interface WorkerOptions extends ModuleSource, OutputOptions, HeapOptions, WorkerCallOptions {
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
