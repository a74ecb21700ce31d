// The in-thread API of the installed package, under Node's test runner.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { loadMicroPython, PythonError } from "mpwasm";

const wasmUrl = import.meta.resolve("mpwasm/micropython.wasm");

// An interpreter whose stdout and stderr lines are collected.
async function load(options = {}) {
  const stdout = [];
  const stderr = [];
  const mp = await loadMicroPython({ stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line), ...options });
  return { mp, stdout, stderr };
}

test("prints line by line and keeps state between calls", async () => {
  const { mp, stdout } = await load();
  mp.runPython("x = 40\nprint('x is', x)");
  mp.runPython("print(x + 2)\nprint('no newline', end='')");
  assert.deepEqual(stdout, ["x is 40", "42", "no newline"]);
});

test("without linebuffer, output arrives as written", async () => {
  const chunks = [];
  const { mp } = await load({ stdout: (text) => chunks.push(text), linebuffer: false });
  mp.runPython("print('a', end='')\nprint('b')\nprint('é✓')");
  assert.equal(chunks.join(""), "ab\né✓\n");
});

test("an exception becomes a PythonError with type, value and traceback", async () => {
  const { mp, stderr } = await load();
  const error = captured(() => mp.runPython("def f():\n    raise ValueError('boom')\nf()"));
  assert.ok(error instanceof PythonError);
  assert.equal(error.name, "PythonError");
  assert.equal(error.type, "ValueError");
  assert.equal(error.value, "boom");
  assert.equal(error.message, "ValueError: boom");
  assert.equal(error.exitCode, undefined);
  assert.match(error.traceback, /^Traceback \(most recent call last\):\n/);
  assert.match(error.traceback, /line 2, in f\nValueError: boom\n$/);
  assert.deepEqual(stderr, [], "the traceback is not printed as well");
  mp.runPython("ok = True");
  assert.equal(mp.evalPython("ok"), true, "the interpreter goes on after an exception");
});

function captured(body) {
  try {
    body();
  } catch (error) {
    return error;
  }
  assert.fail("expected an exception");
}

test("SystemExit carries its exit code", async () => {
  const { mp } = await load();
  assert.equal(captured(() => mp.runPython("raise SystemExit(3)")).exitCode, 3);
  const exit = captured(() => mp.runPython("import sys\nsys.exit()"));
  assert.equal(exit.type, "SystemExit");
  assert.equal(exit.exitCode, 0);
});

test("syntax errors and deep recursion are Python errors, not crashes", async () => {
  const { mp } = await load();
  assert.equal(captured(() => mp.runPython("def (")).type, "SyntaxError");
  assert.equal(captured(() => mp.runPython("def f():\n    return f()\nf()")).type, "RuntimeError");
  assert.equal(mp.evalPython("1 + 1"), 2);
});

test("evalPython returns JSON-compatible values", async () => {
  const { mp } = await load();
  mp.runPython("items = [1, 2.5, None, True, 'é']");
  assert.deepEqual(mp.evalPython("{'items': items, 'n': len(items)}  # trailing comment"), {
    items: [1, 2.5, null, true, "é"],
    n: 5,
  });
  assert.equal(mp.evalPython("'multi' +\n'line'"), "multiline");
  assert.equal(captured(() => mp.evalPython("undefined_name")).type, "NameError");
});

test("registered JavaScript functions are callable through the host module", async () => {
  const { mp, stdout } = await load();
  mp.registerJsFunction("add", (a, b) => a + b);
  mp.registerJsFunction("echo", (value) => value);
  mp.registerJsFunction("nothing", () => undefined);
  mp.runPython("import host\nprint(host.add(2, 3), host.call('add', 'a', 'b'))");
  mp.runPython("print(host.echo({'k': [1, None]}), host.nothing())");
  assert.deepEqual(stdout, ["5 ab", "{'k': [1, None]} None"]);
});

test("JavaScript errors become host.HostError in Python", async () => {
  const { mp, stdout } = await load();
  mp.registerJsFunction("fails", () => {
    throw new TypeError("nope");
  });
  mp.registerJsFunction("later", async () => 1);
  mp.runPython(
    "import host\n" +
      "for call in (lambda: host.fails(), lambda: host.missing(), lambda: host.later()):\n" +
      "    try:\n" +
      "        call()\n" +
      "    except host.HostError as e:\n" +
      "        print(e)\n",
  );
  assert.equal(stdout[0], "TypeError: nope");
  assert.equal(stdout[1], "no JavaScript function is registered as 'missing'");
  assert.match(stdout[2], /returned a Promise/);
  mp.unregisterJsFunction("fails");
  assert.equal(captured(() => mp.runPython("host.fails()")).type, "HostError");
});

test("runPython cannot re-enter from a registered function", async () => {
  const { mp } = await load();
  mp.registerJsFunction("reenter", () => mp.runPython("print(1)"));
  const error = captured(() => mp.runPython("import host\nhost.reenter()"));
  assert.equal(error.type, "HostError");
  assert.match(error.value, /already running/);
});

test("input() reads from the stdin callback", async () => {
  const lines = ["alice\n", "bob\n"];
  const { mp, stdout } = await load({ stdin: () => lines.shift() ?? null });
  mp.runPython("print(input('who? '))\nprint(input())");
  assert.deepEqual(stdout, ["who? alice", "bob"]);
  assert.equal(captured(() => mp.runPython("input()")).type, "EOFError");
});

test("the heap size is honoured", async () => {
  const { mp } = await load({ heapsize: 256 * 1024 });
  assert.equal(captured(() => mp.runPython("b = bytearray(1024 * 1024)")).type, "MemoryError");
  mp.runPython("b = bytearray(16 * 1024)");
  assert.equal(mp.evalPython("len(b)"), 16384);
});

test("the heap size is checked: 16 KiB to 1 GiB, whole bytes", async () => {
  for (const heapsize of [0, 1000, 16383, 16384.5, 2 ** 30 + 1, 2 ** 31 - 2 ** 20, 2 ** 32 + 2 ** 14, -1, NaN, "1m"]) {
    await assert.rejects(loadMicroPython({ heapsize }), { name: "RangeError", message: /^heapsize must be/ }, String(heapsize));
  }
  for (const heapsize of [2 ** 14, 2 ** 30]) {
    const { mp } = await load({ heapsize });
    assert.equal(captured(() => mp.runPython("1 / 0")).type, "ZeroDivisionError", `${heapsize}`);
    assert.equal(mp.evalPython("len('é' * 1000)"), 1000, `${heapsize}`);
  }
});

test("reset() recovers a heap filled by globals or locked, keeping registered functions", async () => {
  const { mp, stdout } = await load({ heapsize: 256 * 1024 });
  mp.registerJsFunction("twice", (n) => 2 * n);
  assert.equal(captured(() => mp.runPython("data = []\nwhile True:\n    data.append('x' * 1000)")).type, "MemoryError");
  assert.equal(captured(() => mp.runPython("print(len(data))")).type, "MemoryError", "nothing runs in a full heap");
  await mp.reset();
  assert.equal(captured(() => mp.runPython("data")).type, "NameError");
  assert.equal(mp.evalPython("__import__('host').twice(21)"), 42);
  mp.runPython("import micropython\nmicropython.heap_lock()");
  assert.equal(captured(() => mp.runPython("print([1])")).type, "MemoryError");
  await mp.reset();
  mp.runPython("print([1])");
  assert.deepEqual(stdout, ["[1]"]);

  let during;
  mp.registerJsFunction("reset", () => void (during = mp.reset()));
  mp.runPython("import host\nhost.reset()");
  await assert.rejects(during, /running/);
});

test("the module comes from a URL, bytes or a compiled module", async () => {
  const bytes = await readFile(new URL(wasmUrl));
  const module = await WebAssembly.compile(bytes);
  for (const options of [{ url: wasmUrl }, { url: new URL(wasmUrl) }, { module: bytes }, { module }]) {
    const { mp } = await load(options);
    assert.equal(mp.evalPython("6 * 7"), 42);
  }
  await assert.rejects(loadMicroPython({ url: "/nonexistent/micropython.wasm" }), /ENOENT/);
});

test("interpreters are independent", async () => {
  const { mp: a } = await load();
  const { mp: b } = await load();
  a.runPython("name = 'a'");
  b.runPython("name = 'b'");
  assert.deepEqual([a.evalPython("name"), b.evalPython("name")], ["a", "b"]);
});

test("the WASI shim serves clocks, sleep and randomness", async () => {
  const { mp } = await load();
  mp.runPython("import time, random, os\nstart = time.ticks_ms()\ntime.sleep(0.05)");
  assert.ok(mp.evalPython("time.ticks_diff(time.ticks_ms(), start)") >= 50);
  assert.ok(Math.abs(mp.evalPython("time.time()") - Date.now() / 1000) < 5);
  assert.notEqual(mp.evalPython("random.getrandbits(30)"), mp.evalPython("random.getrandbits(30)"));
  assert.equal(mp.evalPython("len(os.urandom(100000))"), 100000);
});

test("standard modules are there", async () => {
  const { mp } = await load();
  mp.runPython("import json, re, math, binascii, heapq, hashlib, struct, collections, io, asyncio");
  assert.equal(mp.evalPython("json.loads(json.dumps({'a': [1]}))['a'][0] + int(math.sqrt(16))"), 5);
});

test("needsMoreInput and the REPL mode", async () => {
  const { mp, stdout } = await load();
  assert.equal(mp.needsMoreInput("for i in range(3):"), true);
  assert.equal(mp.needsMoreInput("x = 1"), false);
  mp.runPython("1 + 1", { repl: true });
  mp.runPython("1 + 1");
  assert.deepEqual(stdout, ["2"]);
});

test("the module imports only WASI calls the loader implements, and the host bridge", async () => {
  const module = await WebAssembly.compile(await readFile(new URL(wasmUrl)));
  const implemented = new Set(
    "args_get args_sizes_get environ_get environ_sizes_get clock_time_get fd_write fd_read fd_fdstat_get fd_close fd_sync fd_seek fd_prestat_get fd_prestat_dir_name poll_oneoff random_get proc_exit".split(
      " ",
    ),
  );
  // Reached only through a preopened directory, which the loader never offers.
  const unreachable = /^(path_|fd_readdir$)/;
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    assert.equal(kind, "function", `${from}.${name}`);
    if (from === "mpwasm") assert.ok(["host_call", "host_take_result"].includes(name), name);
    else {
      assert.equal(from, "wasi_snapshot_preview1");
      assert.ok(implemented.has(name) || unreachable.test(name), `the loader has no ${name}: add it to core.js`);
    }
  }
});
