// The legacy-encoding library component in Node: jco's transpiler makes the
// JavaScript from twin.wasm (the component with a core module jco can
// validate; see tests/component_bundle.rs), the real core module
// (real.core.wasm) takes the twin's place, WASI 0.2 comes from jco's
// preview2-shim and the `host` import from ./host.js.
import assert from "node:assert/strict";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { before, test } from "node:test";
import { transpile, writeFiles } from "@bytecodealliance/jco-transpile";

import { calls } from "./host.js";

let interpreter;

before(async () => {
  const { files } = await transpile("twin.wasm", {
    name: "micropython",
    outDir: "micropython",
    map: { "mpwasm:micropython/host": "../host.js" },
  });
  await writeFiles(files, false);
  const twin = await readFile("twin.core.wasm");
  const replaced = [];
  for (const name of await readdir("micropython")) {
    if (name.endsWith(".wasm") && twin.equals(await readFile(`micropython/${name}`))) {
      await writeFile(`micropython/${name}`, await readFile("real.core.wasm"));
      replaced.push(name);
    }
  }
  assert.equal(replaced.length, 1, "jco wrote the twin's core module as one file");
  ({ interpreter } = await import("./micropython/micropython.js"));
});

const defaults = { heapBytes: undefined, outputBytes: undefined };

// The record of a `result`'s error: jco throws it.
function pythonError(fn) {
  try {
    fn();
  } catch (error) {
    assert.equal(typeof error.type, "string", `not a python-error record: ${error}`);
    return error;
  }
  assert.fail("no error");
}

test("a session keeps its globals and evaluates to JSON", () => {
  const session = new interpreter.Session(defaults);
  assert.deepEqual(session.run("x = 21"), { stdout: "", stderr: "", truncated: false });
  assert.equal(session.run("print(x * 2)").stdout, "42\n");
  assert.deepEqual(JSON.parse(session.eval("[x, 'é', None]")), [21, "é", null]);
});

test("Python errors arrive as records", () => {
  const session = new interpreter.Session(defaults);
  const error = pythonError(() => session.run("print('before')\n1 / 0"));
  assert.equal(error.type, "ZeroDivisionError");
  assert.equal(error.message, "divide by zero");
  assert.match(error.traceback, /line 2/);
  assert.equal(error.output.stdout, "before\n");
  assert.equal(session.eval("1 + 1"), "2");
});

test("Python calls the host", () => {
  const session = new interpreter.Session(defaults);
  assert.equal(session.run("import host\nprint(host.add(1, 2, 39))").stdout, "42\n");
  assert.equal(session.eval("host.greet('node')"), '{"hello": "node"}');
  const error = pythonError(() => session.run("host.missing(1)"));
  assert.equal(error.type, "HostError");
  assert.equal(error.message, "no host function named missing");
  assert.deepEqual(calls[0], ["add", "[1, 2, 39]"]);
});

test("one-shot runs and limits", () => {
  assert.equal(interpreter.run("print(sum(range(10)))", defaults).stdout, "45\n");
  const session = new interpreter.Session({ heapBytes: 256 * 1024, outputBytes: 100 });
  assert.equal(pythonError(() => session.run("a = []\nwhile True:\n    a.append(bytearray(10000))")).type, "MemoryError");
  const flood = session.run("for i in range(100):\n    print('0123456789')");
  assert.equal(flood.truncated, true);
  assert.equal(flood.stdout.length, 100);
});
