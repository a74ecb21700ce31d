// Hostile Python under the installed package: each attack ends in a
// JavaScript error of its own kind, Node carries on, and the next run works.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadMicroPython, loadMicroPythonWorker, PythonError, PythonOutputLimitError, PythonTimeoutError } from "mpwasm";

const quiet = { stdout: () => {}, stderr: () => {} };

function thrown(body) {
  try {
    body();
  } catch (error) {
    return error;
  }
  assert.fail("expected an exception");
}

const pythonType = (error) => (error instanceof PythonError ? error.type : `${error.name}: ${error.message}`);

test("a Worker timeout stops loops that catch everything or sleep", async (t) => {
  const py = await loadMicroPythonWorker({ ...quiet, timeout: 300 });
  t.after(() => py.terminate());
  const runaways = [
    "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
    "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except BaseException:\n        pass",
    "def f():\n    try:\n        while True:\n            pass\n    finally:\n        f()\nf()",
  ];
  for (const code of runaways) {
    const started = performance.now();
    await assert.rejects(py.runPython(code), PythonTimeoutError);
    assert.ok(performance.now() - started < 5000, code);
    assert.equal(await py.evalPython("1 + 1"), 2, "the next call gets a fresh interpreter");
  }
});

test("waiting in time.sleep, however long, or on JavaScript keeps to the Worker's timeout", async (t) => {
  const py = await loadMicroPythonWorker({ ...quiet, timeout: 300 });
  t.after(() => py.terminate());
  py.registerJsFunction("never", () => new Promise(() => {}));
  await assert.rejects(py.runPython("import host\nhost.never()"), PythonTimeoutError);
  // 0.1 s past 2^32 ns, 2^32 µs, 2^31 ms, 2^32 ms and 2^64 ns, where a
  // count that wrapped would sleep 0.1 s and return.
  const seconds = [2 ** 32 / 1e9, 2 ** 32 / 1e6, 2 ** 31 / 1e3, 2 ** 32 / 1e3, 2 ** 64 / 1e9].map((s) => s + 0.1);
  for (const length of [...seconds, 1e300]) {
    const started = performance.now();
    await assert.rejects(py.runPython(`import time\ntime.sleep(${length})`), PythonTimeoutError, String(length));
    assert.ok(performance.now() - started < 3000, String(length));
  }
  const started = performance.now();
  await py.runPython("import time\ntime.sleep(0.1)\ntime.sleep_ms(100)");
  assert.ok(performance.now() - started >= 200, "short sleeps last as long as asked");
});

test("output that never ends a line costs linear time, and cannot outlast a timeout", async (t) => {
  let length = 0;
  const mp = await loadMicroPython({ stdout: (line) => (length += line.length), stderr: () => {} });
  const started = performance.now();
  mp.runPython("for _ in range(400000):\n    print('0123456789', end='')");
  assert.equal(length, 4e6, "4 MB in one line");
  // Re-splitting the pending line on each write took about a quarter of an hour.
  assert.ok(performance.now() - started < 20000);

  const py = await loadMicroPythonWorker({ stdout: () => {}, timeout: 500 });
  t.after(() => py.terminate());
  const flooded = performance.now();
  await assert.rejects(py.runPython("while True:\n    print('0123456789', end='')"), PythonTimeoutError);
  assert.ok(performance.now() - flooded < 5000);

  // A result that reaches the main thread after the deadline, here because
  // the stdout callback kept it busy, is a timeout too.
  const busy = () => {
    for (const end = performance.now() + 600; performance.now() < end; );
  };
  const slow = await loadMicroPythonWorker({ stdout: busy, timeout: 200 });
  t.after(() => slow.terminate());
  await assert.rejects(slow.runPython("print('slow to show')"), PythonTimeoutError);
});

test("deeply nested source is a RuntimeError, in the thread and in a Worker", async (t) => {
  const mp = await loadMicroPython(quiet);
  const py = await loadMicroPythonWorker(quiet);
  t.after(() => py.terminate());
  mp.runPython("kept = 1");
  await py.runPython("kept = 1");
  const nested = [
    ["abs(", "1", ")", 10000],
    ["[", "", "]", 30000],
    ["{1:", "1", "}", 30000],
  ];
  for (const [open, inner, close, depth] of nested) {
    const code = open.repeat(depth) + inner + close.repeat(depth);
    assert.equal(pythonType(thrown(() => mp.runPython(code))), "RuntimeError", open);
    assert.equal(pythonType(await py.runPython(code).catch((error) => error)), "RuntimeError", open);
    assert.deepEqual([mp.evalPython("kept"), await py.evalPython("kept")], [1, 1], "the same interpreters go on");
  }
});

test("deeply nested data from JavaScript is a HostError, in the thread and in a Worker", async (t) => {
  const mp = await loadMicroPython(quiet);
  const py = await loadMicroPythonWorker(quiet);
  t.after(() => py.terminate());
  const nested = (depth) => JSON.parse("[".repeat(depth) + "]".repeat(depth));
  mp.registerJsFunction("nested", nested);
  py.registerJsFunction("nested", async (depth) => nested(depth));
  const unwrap = "import host\nx = host.nested(1000)\nfor _ in range(999):\n    x = x[0]";
  mp.runPython(unwrap);
  await py.runPython(unwrap);
  assert.deepEqual([mp.evalPython("x"), await py.evalPython("x")], [[], []], "a thousand levels cross");
  // JSON.stringify runs out of stack (a RangeError) on the way to Python.
  const deep = "import host\nhost.nested(100000)";
  for (const error of [thrown(() => mp.runPython(deep)), await py.runPython(deep).catch((error) => error)]) {
    assert.equal(pythonType(error), "HostError");
    assert.match(error.value, /RangeError/);
  }
  assert.deepEqual([mp.evalPython("1 + 1"), await py.evalPython("1 + 1")], [2, 2]);
});

test("memory bombs are MemoryError, and the interpreter goes on", async () => {
  const mp = await loadMicroPython(quiet);
  const bombs = [
    ["x = 'x' * 10**9", "MemoryError"],
    ["x = 'x' * 10**10", "OverflowError"],
    ["x = bytearray(1 << 30)", "MemoryError"],
    ["x = [0] * 10**9", "MemoryError"],
    ["def grow():\n    items = []\n    while True:\n        items.append([0] * 100)\ngrow()", "MemoryError"],
  ];
  for (const [code, type] of bombs) {
    assert.equal(pythonType(thrown(() => mp.runPython(code))), type, code);
    assert.equal(mp.evalPython("1 + 1"), 2, code);
  }
});

test("deep recursion, in Python or in C, is a RuntimeError", async () => {
  const mp = await loadMicroPython(quiet);
  const recursions = [
    "def f():\n    return f()\nf()",
    "l = []\nfor _ in range(100000):\n    l = [l]\nrepr(l)",
    "import json\nd = {}\nfor _ in range(100000):\n    d = {'a': d}\njson.dumps(d)",
    "class A:\n    def __getattr__(self, name):\n        return getattr(self, name)\nA().x",
  ];
  for (const code of recursions) {
    assert.equal(pythonType(thrown(() => mp.runPython(code))), "RuntimeError", code);
    assert.equal(mp.evalPython("1 + 1"), 2, code);
  }
});

test("an output flood stops at maxOutput, in the thread and in a Worker", async (t) => {
  const chunks = [];
  const mp = await loadMicroPython({ stdout: (text) => chunks.push(text), linebuffer: false, maxOutput: 1000 });
  mp.runPython("print('a' * 900)");
  mp.runPython("print('b' * 900)", "the cap is per call");
  const flood = "while True:\n    try:\n        print('spam')\n    except BaseException:\n        pass";
  const error = thrown(() => mp.runPython(flood));
  assert.ok(error instanceof PythonOutputLimitError, String(error));
  assert.deepEqual([error.stream, error.limit], ["stdout", 1000]);
  assert.equal(chunks.join("").length, 2 * 901 + 1000, "output up to the cap is delivered");
  assert.match(thrown(() => mp.runPython("1")).message, /crashed earlier/);
  await mp.reset();
  assert.equal(mp.evalPython("1 + 1"), 2, "reset() gives a working interpreter");

  const stderr = [];
  const py = await loadMicroPythonWorker({ stdout: () => {}, stderr: (line) => stderr.push(line), maxOutput: 100 });
  t.after(() => py.terminate());
  const rejected = await py.runPython("import sys\nwhile True:\n    sys.stderr.write('err ')").catch((error) => error);
  assert.ok(rejected instanceof PythonOutputLimitError, String(rejected));
  assert.equal(rejected.stream, "stderr");
  assert.equal(await py.evalPython("1 + 1"), 2, "the next call gets a fresh interpreter");
});

test("the host's files and the network are out of reach", async () => {
  const mp = await loadMicroPython(quiet);
  for (const code of ["open('/etc/passwd')", "open('../../etc/passwd')", "open('/tmp/x', 'w')", "import os\nos.stat('/root')"]) {
    assert.equal(pythonType(thrown(() => mp.runPython(code))), "OSError", code);
  }
  assert.deepEqual(mp.evalPython("__import__('os').listdir('/')"), ["lib"], "only the in-memory files");
  for (const module of ["socket", "usocket", "ssl", "network", "requests"]) {
    assert.equal(pythonType(thrown(() => mp.runPython(`import ${module}`))), "ImportError", module);
  }
  assert.equal(mp.evalPython("1 + 1"), 2);
});
