// loadMicroPythonWorker under Node: the interpreter in a worker thread,
// stoppable by a timeout.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadMicroPythonWorker, PythonError, PythonTimeoutError } from "mpwasm";

async function load(options = {}) {
  const stdout = [];
  const py = await loadMicroPythonWorker({ stdout: (line) => stdout.push(line), ...options });
  return { py, stdout };
}

test("runs Python with state and output, one call after another", async (t) => {
  const { py, stdout } = await load();
  t.after(() => py.terminate());
  await Promise.all([py.runPython("x = 1"), py.runPython("x += 1"), py.runPython("print('x =', x)")]);
  assert.deepEqual(stdout, ["x = 2"]);
  assert.deepEqual(await py.evalPython("[x, 'é']"), [2, "é"]);
  const error = await py.runPython("raise KeyError('k')").catch((error) => error);
  assert.ok(error instanceof PythonError);
  assert.equal(error.type, "KeyError");
  assert.match(error.traceback, /KeyError: k\n$/);
});

test("registered functions run in the main thread and may be async", async (t) => {
  const { py, stdout } = await load();
  t.after(() => py.terminate());
  py.registerJsFunction("later", async (n) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    return n * 2;
  });
  py.registerJsFunction("big", (n) => "x".repeat(n));
  py.registerJsFunction("fails", () => {
    throw new RangeError("too far");
  });
  await py.runPython("import host\nprint(host.later(21))");
  assert.deepEqual(stdout, ["42"]);
  // Larger than one 64 KiB transfer chunk.
  assert.equal(await py.evalPython("len(__import__('host').big(200000))"), 200000);
  const error = await py.runPython("host.fails()").catch((error) => error);
  assert.equal(error.type, "HostError");
  assert.equal(error.value, "RangeError: too far");
});

test("input() waits for the async stdin option in the main thread", async (t) => {
  const lines = ["Ada\n", "41\n"];
  const { py, stdout } = await load({
    stdin: async () => (await new Promise((resolve) => setTimeout(resolve, 10)), lines.shift() ?? null),
  });
  t.after(() => py.terminate());
  await py.runPython("name = input('name? ')\nprint(name, int(input()) + 1)\ntry:\n  input()\nexcept EOFError:\n  print('end')");
  assert.deepEqual(stdout, ["name? Ada 42", "end"]);
  const { py: silent, stdout: quiet } = await load();
  t.after(() => silent.terminate());
  await silent.runPython("try:\n  input()\nexcept EOFError:\n  print('no stdin: end of input')");
  assert.deepEqual(quiet, ["no stdin: end of input"]);
});

test("input() inside runPythonAsync still blocks for stdin while host calls are awaited", async (t) => {
  const lines = ["7\n"];
  const { py, stdout } = await load({ stdin: async () => lines.shift() ?? null });
  t.after(() => py.terminate());
  py.registerJsFunction("later", async (x) => x * 2);
  await py.runPythonAsync("import host\nn = int(input())\nprint(await host.later(n))");
  assert.deepEqual(stdout, ["14"]);
});

test("a timeout stops runaway code; the next call gets a fresh interpreter", async (t) => {
  const { py, stdout } = await load({ timeout: 5000 });
  t.after(() => py.terminate());
  py.registerJsFunction("twice", (n) => 2 * n);
  await py.runPython("state = 'kept'");
  const started = performance.now();
  const error = await py.runPython("print('looping')\nwhile True:\n    pass", { timeout: 200 }).catch((error) => error);
  assert.ok(error instanceof PythonTimeoutError, String(error));
  assert.equal(error.timeout, 200);
  assert.ok(performance.now() - started < 3000);
  assert.deepEqual(stdout, ["looping"], "output written before the timeout arrives");
  assert.equal((await py.runPython("state").catch((error) => error)).type, "NameError");
  assert.equal(await py.evalPython("__import__('host').twice(4)"), 8, "registrations survive the restart");
});

test("timeouts are checked: 1 to 2^31 - 1 ms, setTimeout's range", async () => {
  for (const timeout of [0, -1, 0.5, NaN, Infinity, 2 ** 31, "100"]) {
    await assert.rejects(loadMicroPythonWorker({ timeout }), { name: "RangeError", message: /^timeout must be/ }, String(timeout));
  }
  await assert.rejects(loadMicroPythonWorker({ heapsize: 2 ** 31 }), { name: "RangeError", message: /^heapsize must be/ });
  const { py } = await load({ timeout: 2 ** 31 - 1 });
  await assert.rejects(py.runPython("x = 1", { timeout: 2 ** 32 + 100 }), RangeError);
  assert.equal(await py.evalPython("1 + 1"), 2);
  assert.equal(await py.evalPython("2 + 2", { timeout: 1000 }), 4);
  py.terminate();
});

test("terminate rejects the call in progress", async () => {
  const { py } = await load();
  const running = py.runPython("while True:\n    pass");
  setTimeout(() => py.terminate(), 100);
  await assert.rejects(running, /terminated/);
  await py.restart();
  assert.equal(await py.evalPython("1"), 1);
  py.terminate();
});

test("an idle worker does not keep Node alive", async () => {
  // If it did, this test file would never finish: nothing terminates it.
  const { py } = await load();
  assert.equal(await py.evalPython("3"), 3);
});
