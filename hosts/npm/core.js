// Platform-neutral part of the package: a small WASI preview 1 shim, the
// `host` bridge and the interpreter API, plus both ends of the Worker runner.
// node.js and browser.js only add how to fetch the module and start a Worker.

// mpwasm_exec flags and status bits, generated from ports/wasm/mpwasm_api.h.
import { EXEC_ASYNC, EXEC_QUIET, EXEC_SINGLE, FORCED_EXIT } from "./abi.js";
import { errno, fail, fileSystem, FS_METHODS, normalise } from "./fs.js";

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
// ... and the one _asyncjs.step() calls for the Promises settled since the last step.
const SETTLED = "__mpwasm_settled__";
// runPython's option for runPythonAsync's first call, and the method that
// tells a Worker whether Python is in an async step.
const ASYNC = Symbol();
const STEPPING = Symbol();

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

// The WASI functions the module imports (see `wasm-objdump -x -j Import`):
// stdio is `io.output[fd]` and `io.read`; the file system is `files`
// (fs.js), whose root and mounts are preopened as fds 3, 4, ... so that
// wasi-libc resolves absolute paths against them.
function wasi(memory, io, files) {
  const view = () => new DataView(memory().buffer);
  const bytes = () => new Uint8Array(memory().buffer);
  const iovecs = (ptr, count) => {
    const v = view();
    return Array.from({ length: count }, (_, i) => bytes().subarray(v.getUint32(ptr + 8 * i, true)).subarray(0, v.getUint32(ptr + 8 * i + 4, true)));
  };
  const none = (countPtr, sizePtr) => (view().setUint32(countPtr, 0, true), view().setUint32(sizePtr, 0, true), 0);
  // Open files and directories: { store, path, file?, at, append, name? (a preopen's) }.
  const fds = new Map([["", files.root], ...files.points].map(([name, store], i) => [i + 3, { store, path: "", name: name || "/" }]));
  let nextFd = fds.size + 3;
  // Runs `body(fd's entry)` with a store error turned into its errno.
  const on = (fd, body) => {
    const entry = fds.get(fd);
    try {
      return entry || fd < 3 ? (body(entry) ?? 0) : EBADF;
    } catch (error) {
      return errno(error);
    }
  };
  // Store and path of `len` bytes of path at `ptr`, relative to directory `fd`.
  const resolve = (fd, ptr, len) => {
    const entry = fds.get(fd);
    if (!entry || entry.file) throw "EBADF";
    return [entry.store, normalise(entry.path + "/" + decoder.decode(bytes().subarray(ptr, ptr + len)))];
  };
  const setCount = (out, n) => view().setUint32(out, n, true);
  const calls = {
    args_sizes_get: none,
    args_get: () => 0,
    environ_sizes_get: none,
    environ_get: () => 0,
    clock_time_get(clock, _precision, out) {
      view().setBigUint64(out, nowNs(clock), true);
      return 0;
    },
    fd_write: (fd, iovs, count, out) =>
      on(fd, (entry) => {
        let total = 0;
        for (const part of iovecs(iovs, count)) {
          if (!entry) (io.output[fd] ?? fail("EBADF")).push(part);
          else if (!entry.file) fail("EISDIR");
          else entry.at += entry.file.write(part, entry.append ? entry.file.size() : entry.at);
          total += part.length;
        }
        setCount(out, total);
      }),
    fd_read: (fd, iovs, count, out) =>
      on(fd, (entry) => {
        let total = 0;
        for (const part of iovecs(iovs, count)) {
          const got = entry ? (entry.file ?? fail("EISDIR")).read(part, entry.at) : fd ? fail("EBADF") : io.read(part);
          if (entry) entry.at += got;
          total += got;
          if (got < part.length) break;
        }
        setCount(out, total);
      }),
    fd_fdstat_get: (fd, out) =>
      on(fd, (entry) => {
        const v = view();
        // Character device, directory or regular file; a directory passes
        // every right on to what is opened in it.
        v.setUint8(out, entry ? (entry.file ? 4 : 3) : 2);
        v.setUint16(out + 2, 0, true);
        v.setBigUint64(out + 8, 0x1fffffffn, true);
        v.setBigUint64(out + 16, entry && !entry.file ? 0x1fffffffn : 0n, true);
      }),
    fd_close: (fd) => on(fd, (entry) => entry && (entry.file?.close?.(), fds.delete(fd), 0)),
    fd_sync: (fd) => on(fd, () => 0),
    fd_seek: (fd, offset, whence, out) =>
      on(fd, (entry) => {
        if (!entry?.file) return ESPIPE;
        const at = [0, entry.at, entry.file.size()][whence] + Number(offset);
        if (!(at >= 0)) fail("EINVAL");
        view().setBigUint64(out, BigInt((entry.at = at)), true);
      }),
    fd_prestat_get: (fd, out) =>
      on(fd, (entry) => {
        if (!entry?.name) return EBADF;
        view().setUint32(out, 0, true);
        view().setUint32(out + 4, encoder.encode(entry.name).length, true);
      }),
    fd_prestat_dir_name: (fd, ptr, len) => on(fd, (entry) => void bytes().set(encoder.encode(entry.name).subarray(0, len), ptr)),
    path_open: (fd, _flags, ptr, len, oflags, rights, _inherited, fdflags, out) =>
      on(fd, () => {
        const [store, path] = resolve(fd, ptr, len);
        let stat;
        try {
          stat = store.stat(path);
        } catch {}
        const write = (rights & 64n) > 0n;
        const entry = { store, path, at: 0, append: fdflags & 1 };
        if (oflags & 2 || stat?.dir) {
          if (!stat?.dir) fail(stat ? "ENOTDIR" : "ENOENT");
          if (write) fail("EISDIR");
        } else {
          entry.file = store.open(path, { create: oflags & 1, exclusive: oflags & 4, truncate: oflags & 8, write });
        }
        fds.set(nextFd, entry);
        setCount(out, nextFd++);
      }),
    // Entries from index `cookie` on: a 24-byte header and the name each,
    // the last one cut off where the buffer ends (wasi-libc asks again).
    fd_readdir: (fd, buf, len, cookie, out) =>
      on(fd, (entry) => {
        if (!entry || entry.file) fail("EBADF");
        const list = entry.store.readdir(entry.path);
        const all = [];
        for (let i = Number(cookie); i < list.length; i++) {
          const name = encoder.encode(list[i][0]);
          const record = new Uint8Array(24 + name.length);
          const v = new DataView(record.buffer);
          v.setBigUint64(0, BigInt(i + 1), true);
          v.setBigUint64(8, BigInt(i + 1), true);
          v.setUint32(16, name.length, true);
          v.setUint8(20, list[i][1] ? 3 : 4);
          record.set(name, 24);
          all.push(...record);
          if (all.length >= len) break;
        }
        bytes().set(all.slice(0, len), buf);
        setCount(out, Math.min(len, all.length));
      }),
    path_filestat_get: (fd, _flags, ptr, len, out) =>
      on(fd, () => {
        const { dir, size, mtime } = pathCall(resolve(fd, ptr, len), "stat");
        const v = view();
        bytes().fill(0, out, out + 64);
        v.setUint8(out + 16, dir ? 3 : 4);
        v.setBigUint64(out + 24, 1n, true);
        v.setBigUint64(out + 32, BigInt(size), true);
        for (const at of [40, 48, 56]) v.setBigUint64(out + at, BigInt(Math.round(mtime * 1e6)), true);
      }),
    path_create_directory: (fd, ptr, len) => on(fd, () => void pathCall(resolve(fd, ptr, len), "mkdir")),
    path_remove_directory: (fd, ptr, len) => on(fd, () => void pathCall(resolve(fd, ptr, len), "rmdir")),
    path_unlink_file: (fd, ptr, len) => on(fd, () => void pathCall(resolve(fd, ptr, len), "unlink")),
    path_rename: (fd, ptr, len, toFd, toPtr, toLen) =>
      on(fd, () => {
        const [store, from] = resolve(fd, ptr, len);
        const [target, to] = resolve(toFd, toPtr, toLen);
        target === store ? store.rename(from, to) : fail("EXDEV");
      }),
    // time.sleep: nanosleep is one clock subscription; anything on a file
    // descriptor is ready at once.
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
  // Anything else reports "not supported".
  return new Proxy(calls, { get: (target, name) => target[name] ?? (() => ENOSYS) });
}

const pathCall = ([store, path], method) => store[method](path);

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
  const functions = new Map([[SETTLED, () => settled.splice(0)]]);
  const files = fileSystem(options);
  let exports;
  let pending;
  let busy = false;
  let crash;
  // Async runs: Promises returned to Python are numbered; their outcomes
  // wait in `settled` ([id, ok, value or message]) for the next step.
  let promises = 0;
  let stepping = false;
  let wake;
  const settled = [];
  // The runPythonAsync call waiting for its task ({ resolve, reject }), and
  // the one before it finishing.
  let run;
  let asyncRuns = Promise.resolve();
  let pumping = false;

  // Host calls may return Promises only inside a step.
  function step(body) {
    stepping = true;
    try {
      return body();
    } finally {
      stepping = false;
    }
  }

  // Steps _asyncjs's asyncio loop from the event loop while tasks are left
  // (after `first`, the start of a run): each step returns when every task
  // waits, for a timer or for a Promise to settle. The run in progress
  // settles when its main task is done.
  async function pump(first) {
    const settle = (error) => (error ? run?.reject(error) : run?.resolve(), (run = undefined));
    try {
      step(first);
    } catch (error) {
      return settle(error);
    }
    // A loop already running takes the new task on at its next step.
    if (pumping) return void wake?.();
    pumping = true;
    for (let wait; ; ) {
      try {
        let done;
        [done, wait] = step(() => api.evalPython("__import__('_asyncjs').step()"));
        if (done) settle();
      } catch (error) {
        // The main task raised; anything else means the interpreter is gone.
        settle(error);
        if (!(error instanceof PythonError)) break;
        wait = 0;
      }
      if (wait == null) break;
      let timer;
      if (!settled.length) await new Promise((resolve) => ((wake = resolve), wait >= 0 && (timer = setTimeout(resolve, wait))));
      clearTimeout(timer);
      wake = undefined;
    }
    pumping = false;
  }
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
        if (typeof value?.then !== "function") text = JSON.stringify(value ?? null) ?? "null";
        else if (!stepping) throw new Error(`'${name}' returned a Promise: await it in runPythonAsync, or use loadMicroPythonWorker`);
        else {
          // "!id": modhost.c hands Python the awaitable _asyncjs.promise(id).
          const id = ++promises;
          text = "!" + id;
          value
            .then((result) => [id, true, result ?? null], (error) => [id, false, describe(error)])
            .then((outcome) => settled.push(outcome) && wake?.());
        }
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
      wasi_snapshot_preview1: wasi(() => fresh.memory, io, files),
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
    fs: files.api,
    [STEPPING]: () => stepping,
    runPython(code, { repl = false, [ASYNC]: top = false } = {}) {
      enter();
      let status;
      stdout.reset();
      stderr.reset();
      try {
        status = withText(code, (ptr, len) =>
          exports.mpwasm_exec(ptr, len, EXEC_QUIET | (repl ? EXEC_SINGLE : 0) | (top ? EXEC_ASYNC : 0)),
        );
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
    // Runs `code` with top-level await; resolves once its task is done.
    runPythonAsync(code) {
      const result = asyncRuns.then(
        () =>
          new Promise((resolve, reject) => {
            run = { resolve, reject };
            pump(() => api.runPython(code, { [ASYNC]: true }));
          }),
      );
      asyncRuns = result.catch(() => {});
      return result;
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
  error.code
    ? { fs: [error.message, error.code] }
    : error instanceof PythonError
    ? { python: { type: error.type, message: error.value, traceback: error.traceback }, exitCode: error.exitCode }
    : error instanceof PythonOutputLimitError
      ? { crash: describe(error), outputLimit: { stream: error.stream, limit: error.limit } }
      : { crash: describe(error) };

const rebuild = (error) =>
  error.fs
    ? Object.assign(new Error(error.fs[0]), { code: error.fs[1] })
    : error.python
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
export function serveWorker(port, prepare = (options) => options) {
  let api;
  let header;
  let data;
  let calls = 0;
  const replies = new Map();
  const post = (message) => port.postMessage(message);

  const forward = (fd) => ({ push: (bytes) => post({ t: "out", fd, bytes: bytes.slice() }), flush() {} });

  const remoteCall = (name, blocking) => (...args) => {
    // In an async step, the answer comes back as a "settle" message.
    if (!blocking && api[STEPPING]()) {
      return new Promise((resolve, reject) => {
        replies.set(++calls, { resolve, reject });
        post({ t: "call", name, args: JSON.stringify(args), id: calls });
      });
    }
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
        // The main thread's `stdin`, waited for like a host call (always a
        // blocking one: the reader under `input()` cannot await).
        const stdin = header && (() => remoteCall(STDIN, true)());
        api = await instantiate(message.module, prepare({ ...message, stdin }), { 1: forward(1), 2: forward(2) });
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
        const { t, code } = message;
        const value =
          t === "eval"
            ? api.evalPython(code)
            : t === "async"
              ? await api.runPythonAsync(code)
              : t === "fs"
                ? api.fs[code[0]](...code.slice(1))
                : api.runPython(code);
        post({ t: "done", value });
      } catch (error) {
        post({ t: "done", error: errorDetail(error) });
      }
    }
  }

  // Initialisation is asynchronous: later messages wait for it.
  let queue = Promise.resolve();
  // A settled call is for the run in progress: it does not queue behind it.
  port.addEventListener("message", ({ data: message }) => {
    if (message.t !== "settle") return void (queue = queue.then(() => handle(message)));
    const reply = replies.get(message.id);
    replies.delete(message.id);
    message.failed ? reply?.reject(message.text) : reply?.resolve(JSON.parse(message.text));
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
    const { heapsize, maxOutput, mounts, fsLimit } = options;
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

      async function hostCall(name, args, id) {
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
        if (id) return spawned.post({ t: "settle", id, failed, text });
        reply = { header: new Int32Array(shared, 0, 4), data: new Uint8Array(shared, HEADER), bytes: encoder.encode(text), failed };
        answer();
      }

      const onMessage = (message) => {
        if (message.t === "out") output[message.fd].push(message.bytes);
        else if (message.t === "call") hostCall(message.name, message.args, message.id);
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
          spawned.post({ t: "init", module: compiled, shared, heapsize, maxOutput, mounts, fsLimit });
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
      runPythonAsync: (code, callOptions) => call("async", code, callOptions),
      // The Worker's files, between calls.
      fs: Object.fromEntries(FS_METHODS.map((name) => [name, (...args) => call("fs", [name, ...args])])),
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
