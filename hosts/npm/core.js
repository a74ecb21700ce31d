// Platform-neutral part of the package: a small WASI preview 1 shim, the
// `host` bridge and the interpreter API, plus both ends of the Worker runner.
// node.js and browser.js only add how to fetch the module and start a Worker.

// mpwasm_exec flags and status bits, generated from ports/wasm/mpwasm_api.h.
import { EXEC_QUIET, EXEC_SINGLE, FORCED_EXIT } from "./abi.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// WASI errno values the shim answers with.
const EBADF = 8;
const ENOSYS = 52;
const ESPIPE = 70;

// Name of the internal host function that carries evalPython's value back.
// (`import host` also calls host.__init__, which the module's __getattr__
// turns into a host call: it is answered with None unless registered.)
const RESULT = "__mpwasm_result__";

export class PythonError extends Error {
  constructor({ type, message, traceback }, exitCode) {
    super(message ? `${type}: ${message}` : type);
    this.name = "PythonError";
    this.type = type;
    this.value = message;
    this.traceback = traceback;
    if (exitCode !== undefined) this.exitCode = exitCode;
  }
}

export class PythonTimeoutError extends Error {
  constructor(ms) {
    super(`Python code did not finish within ${ms} ms; its interpreter was stopped`);
    this.name = "PythonTimeoutError";
    this.timeout = ms;
  }
}

// A run wrote more than `maxOutput` bytes to one stream. The run is stopped
// mid-instruction, so the interpreter that ran it is not used again.
export class PythonOutputLimitError extends Error {
  constructor(stream, limit) {
    super(`Python wrote more than ${limit} bytes to ${stream}; its interpreter was stopped`);
    this.name = "PythonOutputLimitError";
    this.stream = stream;
    this.limit = limit;
  }
}

const describe = (error) =>
  !(error instanceof Error) ? String(error) : error.name === "Error" ? error.message : `${error.name}: ${error.message}`;

// A heap over 1 GiB could take memory past 2 GiB, where pointers (i32s)
// turn negative in JavaScript; setTimeout cannot wait over 2^31 - 1 ms.
function check(name, value, valid, range) {
  if (value === undefined || (typeof value === "number" && valid(value))) return value;
  throw new RangeError(`${name} must be ${range}, not ${String(value)}`);
}
const checkHeapsize = (bytes) =>
  check("heapsize", bytes, (n) => n % 1 === 0 && n >= 1 << 14 && n <= 1 << 30, "a whole number of bytes from 16 KiB to 1 GiB");
const checkTimeout = (ms) => check("timeout", ms, (n) => n >= 1 && n <= 2 ** 31 - 1, "from 1 to 2147483647 ms");

// Decodes bytes for `write`: whole lines at a time (without the newline),
// as upstream's `linebuffer: true` does, or as they arrive. A line waits in
// a buffer that doubles, so an endless one costs linear time.
function lineSink(write, linebuffer) {
  const decoder = new TextDecoder();
  let line = new Uint8Array(0);
  let size = 0;
  return {
    push(bytes) {
      if (!linebuffer) {
        const text = decoder.decode(bytes, { stream: true });
        return void (text && write(text));
      }
      if (size + bytes.length > line.length) {
        const grown = new Uint8Array(Math.max(2 * line.length, size + bytes.length));
        grown.set(line.subarray(0, size));
        line = grown;
      }
      line.set(bytes, size);
      size += bytes.length;
      const end = bytes.lastIndexOf(10);
      if (end < 0) return;
      const cut = size - bytes.length + end;
      for (const text of decoder.decode(line.subarray(0, cut)).split("\n")) write(text);
      line.copyWithin(0, cut + 1, size);
      size -= cut + 1;
    },
    flush() {
      const text = decoder.decode(line.subarray(0, size));
      line = new Uint8Array(0);
      size = 0;
      if (text) write(text);
    },
  };
}

// stdout and stderr by file descriptor (default: console, line by line).
function outputs(options) {
  const sink = (write, log) => lineSink(write ?? ((text) => log(text)), !write || (options.linebuffer ?? true));
  return { 1: sink(options.stdout, console.log), 2: sink(options.stderr, console.error) };
}

// Caps what a run (since the sink's `reset`) writes at `limit` bytes: those
// up to it pass, then PythonOutputLimitError is thrown out of the WASI call,
// which unwinds the module.
function capped(sink, stream, limit = Infinity) {
  let written = 0;
  return {
    push(bytes) {
      const room = Math.max(limit - written, 0);
      written += bytes.length;
      sink.push(bytes.length > room ? bytes.subarray(0, room) : bytes);
      if (written > limit) throw new PythonOutputLimitError(stream, limit);
    },
    flush: () => sink.flush(),
    reset: () => void (written = 0),
  };
}

// Blocks the thread: Atomics.wait where allowed (Node, workers), else spins
// (a browser's main thread).
function sleep(ms) {
  if (!(ms > 0)) return;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  } catch {
    for (const end = performance.now() + ms; performance.now() < end; );
  }
}

const nowNs = (clock) =>
  BigInt(Math.round((clock === 0 ? performance.timeOrigin + performance.now() : performance.now()) * 1e6));

// The WASI functions the module imports (see `wasm-objdump -x -j Import`).
// The interpreter has no filesystem here: no directory is preopened, so
// wasi-libc never reaches the path_* calls, and stdio is all there is:
// `io.output[fd]` and `io.read`.
function wasi(memory, io) {
  const view = () => new DataView(memory().buffer);
  const bytes = () => new Uint8Array(memory().buffer);
  const iovecs = (ptr, count) => {
    const v = view();
    return Array.from({ length: count }, (_, i) => [v.getUint32(ptr + 8 * i, true), v.getUint32(ptr + 8 * i + 4, true)]);
  };
  const none = (countPtr, sizePtr) => (view().setUint32(countPtr, 0, true), view().setUint32(sizePtr, 0, true), 0);
  const stdio = (fd, then) => (fd > 2 ? EBADF : then());
  const calls = {
    args_sizes_get: none,
    args_get: () => 0,
    environ_sizes_get: none,
    environ_get: () => 0,
    clock_time_get(clock, _precision, out) {
      view().setBigUint64(out, nowNs(clock), true);
      return 0;
    },
    fd_write(fd, iovs, count, out) {
      const sink = io.output[fd];
      if (!sink) return EBADF;
      let total = 0;
      for (const [ptr, len] of iovecs(iovs, count)) {
        sink.push(bytes().subarray(ptr, ptr + len));
        total += len;
      }
      view().setUint32(out, total, true);
      return 0;
    },
    fd_read(fd, iovs, count, out) {
      if (fd !== 0) return EBADF;
      let total = 0;
      for (const [ptr, len] of iovecs(iovs, count)) {
        const got = io.read(bytes().subarray(ptr, ptr + len));
        total += got;
        if (got < len) break;
      }
      view().setUint32(out, total, true);
      return 0;
    },
    fd_fdstat_get: (fd, out) =>
      stdio(fd, () => {
        const v = view();
        v.setUint8(out, 2); // character device
        v.setUint16(out + 2, 0, true);
        v.setBigUint64(out + 8, 0x1fffffffn, true);
        v.setBigUint64(out + 16, 0n, true);
        return 0;
      }),
    fd_close: (fd) => stdio(fd, () => 0),
    fd_sync: (fd) => stdio(fd, () => 0),
    fd_seek: (fd) => stdio(fd, () => ESPIPE),
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => EBADF,
    // time.sleep: nanosleep is one clock subscription; anything on a file
    // descriptor (only stdio exists) is ready at once.
    poll_oneoff(subs, events, count, out) {
      const v = view();
      let wait = Infinity;
      for (let i = 0; i < count; i++) {
        const sub = subs + 48 * i;
        const tag = v.getUint8(sub + 8);
        if (tag === 0) {
          const clock = v.getUint32(sub + 16, true);
          let ns = v.getBigUint64(sub + 24, true);
          if (v.getUint16(sub + 40, true) & 1) ns -= nowNs(clock);
          wait = Math.min(wait, Number(ns) / 1e6);
        } else {
          wait = 0;
        }
        const event = events + 32 * i;
        v.setBigUint64(event, v.getBigUint64(sub, true), true);
        v.setUint16(event + 8, 0, true);
        v.setUint8(event + 10, tag);
      }
      if (wait !== Infinity) sleep(wait);
      v.setUint32(out, count, true);
      return 0;
    },
    random_get(ptr, len) {
      for (let at = 0; at < len; at += 65536) {
        crypto.getRandomValues(bytes().subarray(ptr + at, ptr + Math.min(len, at + 65536)));
      }
      return 0;
    },
    proc_exit(code) {
      throw new Error(`MicroPython called exit(${code})`);
    },
  };
  // Anything else (path_*, fd_readdir, ...) reports "not supported".
  return new Proxy(calls, { get: (target, name) => target[name] ?? (() => ENOSYS) });
}

// Reads stdin through the caller's `stdin()`, which returns a string or
// bytes, or null/undefined at end of input.
function stdinReader(stdin) {
  let buffered = new Uint8Array(0);
  return (into) => {
    if (!buffered.length && stdin) {
      const chunk = stdin();
      if (chunk != null) buffered = typeof chunk === "string" ? encoder.encode(chunk) : new Uint8Array(chunk);
    }
    const n = Math.min(into.length, buffered.length);
    into.set(buffered.subarray(0, n));
    buffered = buffered.subarray(n);
    return n;
  };
}

// Instantiates a compiled module into a running interpreter.
export async function instantiate(module, options = {}, output = outputs(options)) {
  const { stdin, maxOutput } = options;
  const heapsize = checkHeapsize(options.heapsize);
  const stdout = capped(output[1], "stdout", maxOutput);
  const stderr = capped(output[2], "stderr", maxOutput);
  const io = { output: { 1: stdout, 2: stderr }, read: stdinReader(stdin) };
  const functions = new Map();
  let exports;
  let pending;
  let busy = false;
  let crash;
  const bytes = () => new Uint8Array(exports.memory.buffer);
  const decode = (ptr, len) => decoder.decode(bytes().subarray(ptr, ptr + len));

  const host = {
    // Returns the length of the JSON result, or -(length + 1) of an error
    // message, which host_take_result then copies (modhost.c).
    host_call(namePtr, nameLen, argsPtr, argsLen) {
      let failed = false;
      let text;
      try {
        const name = decode(namePtr, nameLen);
        const fn = functions.get(name) ?? (name === "__init__" ? () => null : undefined);
        if (!fn) throw new Error(`no JavaScript function is registered as '${name}'`);
        const value = fn(...JSON.parse(decode(argsPtr, argsLen)));
        if (typeof value?.then === "function") {
          throw new Error(`'${name}' returned a Promise: async functions need loadMicroPythonWorker`);
        }
        text = JSON.stringify(value ?? null) ?? "null";
      } catch (error) {
        failed = true;
        text = describe(error);
      }
      pending = encoder.encode(text);
      return failed ? -(pending.length + 1) : pending.length;
    },
    host_take_result(ptr, len) {
      bytes().set(pending.subarray(0, len), ptr);
      pending = undefined;
    },
  };

  // A new instance, whose WASI calls reach its own memory.
  async function start() {
    let fresh;
    const instance = await WebAssembly.instantiate(module, {
      wasi_snapshot_preview1: wasi(() => fresh.memory, io),
      mpwasm: host,
    });
    fresh = instance.exports;
    fresh._initialize();
    if (fresh.mpwasm_init(heapsize ?? 0) !== 0) throw new Error(`cannot allocate a MicroPython heap of ${heapsize} bytes`);
    return fresh;
  }
  exports = await start();

  // Passes `text` to `body` as (pointer, length) in the module's memory.
  function withText(text, body) {
    const encoded = encoder.encode(text);
    const ptr = exports.mpwasm_alloc(encoded.length) >>> 0;
    bytes().set(encoded, ptr);
    try {
      return body(ptr, encoded.length);
    } finally {
      exports.mpwasm_free(ptr);
    }
  }

  function enter() {
    if (crash) throw new Error("this MicroPython instance crashed earlier; reset() it", { cause: crash });
    if (busy) throw new Error("MicroPython is already running (runPython from a registered function is not allowed)");
    busy = true;
  }

  const api = {
    runPython(code, { repl = false } = {}) {
      enter();
      let status;
      stdout.reset();
      stderr.reset();
      try {
        status = withText(code, (ptr, len) => exports.mpwasm_exec(ptr, len, EXEC_QUIET | (repl ? EXEC_SINGLE : 0)));
      } catch (error) {
        // A trap (e.g. stack exhaustion in C) leaves the VM in an unknown state.
        crash = error;
        if (error instanceof PythonOutputLimitError) throw error;
        throw new Error(`MicroPython crashed: ${error.message}`, { cause: error });
      } finally {
        busy = false;
        stdout.flush();
        stderr.flush();
      }
      if (status !== 0) {
        const detail = JSON.parse(decode(exports.mpwasm_error_json() >>> 0, exports.mpwasm_error_json_len()));
        throw new PythonError(detail, status & FORCED_EXIT ? status & 0xff : undefined);
      }
    },
    evalPython(expression) {
      let value = null;
      functions.set(RESULT, (result) => void (value = result));
      try {
        // The newlines let the expression end in a comment.
        api.runPython(`__import__("host").call("${RESULT}", (\n${expression}\n))`);
      } finally {
        functions.delete(RESULT);
      }
      return value;
    },
    registerJsFunction(name, fn) {
      if (typeof fn !== "function") throw new TypeError(`registerJsFunction('${name}', ...) needs a function`);
      functions.set(String(name), fn);
    },
    unregisterJsFunction(name) {
      functions.delete(String(name));
    },
    needsMoreInput(code) {
      return withText(code, (ptr, len) => exports.mpwasm_needs_more_input(ptr, len)) === 1;
    },
    async reset() {
      if (busy) throw new Error("MicroPython is running: reset() it after the call returns");
      exports = await start();
      crash = undefined;
    },
  };
  return api;
}

// Turns the `url`/`module` options into a compiled module, compiling the
// package's own micropython.wasm once per process (or page).
export function moduleLoader(defaultUrl, compileUrl) {
  let compiled;
  return (options = {}) => {
    const source = options.module ?? options.url;
    if (source instanceof WebAssembly.Module) return source;
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
    if (source != null) return compileUrl(source);
    compiled ??= compileUrl(defaultUrl).catch((error) => {
      compiled = undefined;
      throw error;
    });
    return compiled;
  };
}

// Errors cross postMessage as plain data; a `crash` is anything but a
// Python exception, after which the worker's interpreter is not reused.
const errorDetail = (error) =>
  error instanceof PythonError
    ? { python: { type: error.type, message: error.value, traceback: error.traceback }, exitCode: error.exitCode }
    : error instanceof PythonOutputLimitError
      ? { crash: describe(error), outputLimit: { stream: error.stream, limit: error.limit } }
      : { crash: describe(error) };

const rebuild = (error) =>
  error.python
    ? new PythonError(error.python, error.exitCode)
    : error.outputLimit
      ? new PythonOutputLimitError(error.outputLimit.stream, error.outputLimit.limit)
      : new Error(`MicroPython worker: ${error.crash}`);

// Layout of the SharedArrayBuffer that carries host call results to the
// worker: Int32 [state, failed, chunk length, last chunk], then the bytes.
const HEADER = 16;
const CHUNK = 1 << 16;
// The host call for stdin; no Python name reaches it.
const STDIN = "\0stdin";

// Worker side of loadMicroPythonWorker: `port` is a browser worker's `self`
// or Node's `parentPort`. JavaScript functions run in the main thread; this
// thread waits for their results on the SharedArrayBuffer, so Python's
// synchronous `host.call` can wait for a Promise there.
export function serveWorker(port) {
  let api;
  let header;
  let data;
  const post = (message) => port.postMessage(message);

  const forward = (fd) => ({ push: (bytes) => post({ t: "out", fd, bytes: bytes.slice() }), flush() {} });

  const remoteCall = (name) => (...args) => {
    if (!header) throw "calling JavaScript from a worker needs SharedArrayBuffer (a cross-origin isolated page)";
    Atomics.store(header, 0, 0);
    post({ t: "call", name, args: JSON.stringify(args) });
    const parts = [];
    for (;;) {
      Atomics.wait(header, 0, 0);
      parts.push(data.slice(0, header[2]));
      Atomics.store(header, 0, 0);
      if (header[3]) break;
      post({ t: "more" });
    }
    const text = decoder.decode(concat(parts));
    if (header[1]) throw text;
    return JSON.parse(text);
  };

  async function handle(message) {
    if (message.t === "init") {
      if (message.shared) {
        header = new Int32Array(message.shared, 0, 4);
        data = new Uint8Array(message.shared, HEADER);
      }
      try {
        // The main thread's `stdin`, waited for like a host call.
        const stdin = header && (() => remoteCall(STDIN)());
        api = await instantiate(message.module, { ...message, stdin }, { 1: forward(1), 2: forward(2) });
        if (!header) api.runPython(`exec(compile("import builtins\\ndef input(*a):raise OSError('input() in a Worker needs SharedArrayBuffer (a cross-origin isolated page)')\\nbuiltins.input=input","stdin","exec"),{})`);
        post({ t: "ready" });
      } catch (error) {
        post({ t: "failed", error: errorDetail(error) });
      }
    } else if (message.t === "register") {
      // One that overtook "init" is sent again after it.
      api?.registerJsFunction(message.name, remoteCall(message.name));
    } else if (message.t === "unregister") {
      api?.unregisterJsFunction(message.name);
    } else {
      try {
        const value = message.t === "eval" ? api.evalPython(message.code) : api.runPython(message.code);
        post({ t: "done", value });
      } catch (error) {
        post({ t: "done", error: errorDetail(error) });
      }
    }
  }

  // Initialisation is asynchronous: later messages wait for it.
  let queue = Promise.resolve();
  port.addEventListener("message", ({ data: message }) => {
    queue = queue.then(() => handle(message));
  });
  port.start?.();
}

function concat(parts) {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) all.set(part, (at += part.length) - part.length);
  return all;
}

// Main-thread side of loadMicroPythonWorker. `spawn(onMessage, onError)`
// starts a Worker that runs serveWorker and returns { post, terminate, busy }
// (busy says whether a call is running, so Node can unref an idle worker).
export function workerRunner(spawn, load) {
  return async (options = {}) => {
    const { heapsize, maxOutput } = options;
    checkHeapsize(heapsize);
    const defaultTimeout = checkTimeout(options.timeout);
    // The Worker loads its scripts while the module compiles.
    const module = Promise.resolve(load(options));
    const output = outputs(options);
    const functions = new Map();
    let worker;
    let ready;
    // The start-up or call in progress: { resolve, reject, timer, timeout, deadline }.
    let current;
    let queue = Promise.resolve();

    function finish(error, value) {
      const settled = current;
      current = undefined;
      output[1].flush();
      output[2].flush();
      worker?.busy(false);
      if (!settled) return;
      clearTimeout(settled.timer);
      if (error) settled.reject(error);
      else settled.resolve(value);
    }

    function stop(error) {
      worker?.terminate();
      worker = ready = undefined;
      finish(error);
    }

    function start() {
      const shared = typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(HEADER + CHUNK) : undefined;
      let reply;

      function answer() {
        const { header, data, bytes } = reply;
        const chunk = bytes.subarray(0, CHUNK);
        reply.bytes = bytes.subarray(chunk.length);
        data.set(chunk);
        header[1] = reply.failed ? 1 : 0;
        header[2] = chunk.length;
        header[3] = reply.bytes.length ? 0 : 1;
        Atomics.store(header, 0, 1);
        Atomics.notify(header, 0);
      }

      async function hostCall(name, args) {
        let failed = false;
        let text;
        try {
          const fn = name === STDIN ? (options.stdin ?? (() => null)) : functions.get(name);
          if (!fn) throw new Error(`no JavaScript function is registered as '${name}'`);
          text = JSON.stringify((await fn(...JSON.parse(args))) ?? null) ?? "null";
        } catch (error) {
          failed = true;
          text = describe(error);
        }
        reply = { header: new Int32Array(shared, 0, 4), data: new Uint8Array(shared, HEADER), bytes: encoder.encode(text), failed };
        answer();
      }

      const onMessage = (message) => {
        if (message.t === "out") output[message.fd].push(message.bytes);
        else if (message.t === "call") hostCall(message.name, message.args);
        else if (message.t === "more") answer();
        else if (message.t === "ready") finish();
        else if (message.t === "failed") stop(rebuild(message.error));
        else if (message.error?.crash) stop(rebuild(message.error));
        // Late, as when the main thread was busy when the timer was due.
        else if (performance.now() > current?.deadline) stop(new PythonTimeoutError(current.timeout));
        else finish(message.error && rebuild(message.error), message.value);
      };
      const onError = (error) => stop(new Error(`the MicroPython worker failed: ${describe(error)}`, { cause: error }));
      ready = new Promise((resolve, reject) => (current = { resolve, reject }));
      // Drops what a stopped worker sent last.
      const spawned = spawn((m) => worker === spawned && onMessage(m), (e) => worker === spawned && onError(e));
      worker = spawned;
      module.then(
        (compiled) => {
          spawned.post({ t: "init", module: compiled, shared, heapsize, maxOutput });
          for (const name of functions.keys()) spawned.post({ t: "register", name });
        },
        (error) => worker === spawned && stop(error),
      );
      return ready;
    }

    function call(t, code, { timeout = defaultTimeout } = {}) {
      const run = async () => {
        checkTimeout(timeout);
        await (ready ?? start());
        return new Promise((resolve, reject) => {
          const timer = timeout && setTimeout(() => stop(new PythonTimeoutError(timeout)), timeout);
          current = { resolve, reject, timer, timeout, deadline: performance.now() + (timeout ?? Infinity) };
          worker.busy(true);
          worker.post({ t, code });
        });
      };
      const result = queue.then(run);
      queue = result.catch(() => {});
      return result;
    }

    await start();
    return {
      runPython: (code, callOptions) => call("run", code, callOptions),
      evalPython: (expression, callOptions) => call("eval", expression, callOptions),
      registerJsFunction(name, fn) {
        if (typeof fn !== "function") throw new TypeError(`registerJsFunction('${name}', ...) needs a function`);
        functions.set(String(name), fn);
        worker?.post({ t: "register", name: String(name) });
      },
      unregisterJsFunction(name) {
        functions.delete(String(name));
        worker?.post({ t: "unregister", name: String(name) });
      },
      restart() {
        stop(new Error("the MicroPython worker was restarted"));
        const started = queue.then(start);
        queue = started.catch(() => {});
        return started;
      },
      terminate() {
        stop(new Error("the MicroPython worker was terminated"));
      },
    };
  };
}
