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
  assert.equal((await loadMicroPython(quiet)).evalPython("1 + 1"), 2, "a new interpreter works");

  const stderr = [];
  const py = await loadMicroPythonWorker({ stdout: () => {}, stderr: (line) => stderr.push(line), maxOutput: 100 });
  t.after(() => py.terminate());
  const rejected = await py.runPython("import sys\nwhile True:\n    sys.stderr.write('err ')").catch((error) => error);
  assert.ok(rejected instanceof PythonOutputLimitError, String(rejected));
  assert.equal(rejected.stream, "stderr");
  assert.equal(await py.evalPython("1 + 1"), 2, "the next call gets a fresh interpreter");
});

test("there is no filesystem and no network", async () => {
  const mp = await loadMicroPython(quiet);
  for (const code of ["open('/etc/passwd')", "open('../../etc/passwd')", "open('/tmp/x', 'w')", "import os\nos.listdir('/')"]) {
    assert.equal(pythonType(thrown(() => mp.runPython(code))), "OSError", code);
  }
  for (const module of ["socket", "usocket", "ssl", "network", "requests"]) {
    assert.equal(pythonType(thrown(() => mp.runPython(`import ${module}`))), "ImportError", module);
  }
  assert.equal(mp.evalPython("1 + 1"), 2);
});
