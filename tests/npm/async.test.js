// runPythonAsync: top-level await, asyncio driven by the JavaScript event
// loop, and async JavaScript functions awaited from Python.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadMicroPython, loadMicroPythonWorker, PythonError, PythonTimeoutError } from "mpwasm";

async function load() {
  const stdout = [];
  const mp = await loadMicroPython({ stdout: (line) => stdout.push(line) });
  return { mp, stdout };
}

const delay = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

test("top-level await of an async host function; globals persist", async () => {
  const { mp, stdout } = await load();
  mp.registerJsFunction("fetch_text", async (url) => `text of ${url}`);
  await mp.runPythonAsync("import host\ntext = await host.fetch_text('https://example.org/')\nprint(text)");
  assert.deepEqual(stdout, ["text of https://example.org/"]);
  assert.equal(mp.evalPython("text"), "text of https://example.org/");
  // Without an await the snippet just runs; sync functions still return values.
  mp.registerJsFunction("add", (a, b) => a + b);
  await mp.runPythonAsync("import host\nsum3 = host.add(1, 2)");
  assert.equal(mp.evalPython("sum3"), 3);
});

test("the event loop runs while Python sleeps in asyncio", async () => {
  const { mp, stdout } = await load();
  let fired = false;
  mp.registerJsFunction("arm", () => void setTimeout(() => (fired = true), 5));
  mp.registerJsFunction("fired", () => fired);
  const started = performance.now();
  await mp.runPythonAsync("import asyncio, host\nhost.arm()\nawait asyncio.sleep(0.06)\nprint('fired', host.fired())");
  assert.deepEqual(stdout, ["fired True"]);
  assert.ok(performance.now() - started >= 55, "asyncio.sleep waited");
  // Tasks interleave on the JavaScript timers.
  await mp.runPythonAsync(`
import asyncio
order = []
async def tick(name, ms, n):
    for i in range(n):
        await asyncio.sleep_ms(ms)
        order.append(name)
await asyncio.gather(tick('a', 10, 3), tick('b', 25, 1))
print(order)
`);
  assert.equal(stdout.at(-1), "['a', 'a', 'b', 'a']");
});

test("the page stays responsive during a busy asyncio loop", async () => {
  const { mp } = await load();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  mp.registerJsFunction("ticks", () => ticks);
  // sleep(0) never waits, but a step still returns to the event loop every few ms.
  await mp.runPythonAsync("import asyncio, host, time\nt = time.ticks_ms()\nwhile time.ticks_diff(time.ticks_ms(), t) < 200:\n    await asyncio.sleep(0)\nseen = host.ticks()");
  clearInterval(timer);
  assert.ok(mp.evalPython("seen") > 0, "timers ran during the loop");
});

test("async functions settle in any order; gather and errors", async () => {
  const { mp, stdout } = await load();
  mp.registerJsFunction("slow", (ms) => delay(ms, ms));
  mp.registerJsFunction("boom", async (why) => {
    await delay(1);
    throw new Error(why);
  });
  await mp.runPythonAsync(`
import asyncio, host
print(await asyncio.gather(host.slow(30), host.slow(5), host.slow(15)))
try:
    await host.boom('refused')
except host.HostError as e:
    print('HostError', e)
`);
  assert.deepEqual(stdout, ["[30, 5, 15]", "HostError refused"]);
  const error = await mp.runPythonAsync("import host\nasync def f():\n    await host.boom('inner')\nawait f()").catch((e) => e);
  assert.ok(error instanceof PythonError, String(error));
  assert.equal(error.type, "HostError");
  assert.equal(error.value, "inner");
  assert.match(error.traceback, /line 3, in f/);
  const raised = await mp.runPythonAsync("import asyncio\nawait asyncio.sleep(0)\nraise ValueError('after await')").catch((e) => e);
  assert.equal(raised.message, "ValueError: after await");
  // A Promise outside runPythonAsync is still an error, not a hang.
  assert.throws(() => mp.runPython("import host\nhost.slow(1)"), /returned a Promise: await it in runPythonAsync/);
  assert.throws(() => mp.runPython("await x"), /SyntaxError/);
});

test("a task waiting for JavaScript can be cancelled; late results are dropped", async () => {
  const { mp, stdout } = await load();
  let resolveLate;
  mp.registerJsFunction("late", () => new Promise((resolve) => (resolveLate = resolve)));
  await mp.runPythonAsync(`
import asyncio, host
async def waiter():
    try:
        await host.late()
    except asyncio.CancelledError:
        print('cancelled')
        raise
task = asyncio.create_task(waiter())
await asyncio.sleep(0.01)
task.cancel()
try:
    await task
except asyncio.CancelledError:
    print('done')
try:
    await asyncio.wait_for(host.late(), 0.02)
except asyncio.TimeoutError:
    print('timed out')
`);
  resolveLate("too late");
  await mp.runPythonAsync("import asyncio\nawait asyncio.sleep(0)");
  assert.deepEqual(stdout, ["cancelled", "done", "timed out"]);
  assert.equal(mp.evalPython("len(__import__('_asyncjs')._settled)"), 0);
});

test("tasks a snippet leaves behind keep running on the event loop", async () => {
  const { mp } = await load();
  mp.registerJsFunction("later", (x) => delay(5, x));
  await mp.runPythonAsync(`
import asyncio, host
count = 0
async def ticker():
    global count
    while count < 5:
        count += await host.later(1)
        await asyncio.sleep_ms(5)
task = asyncio.create_task(ticker())
`);
  assert.equal(mp.evalPython("count"), 0, "the snippet is done before its task runs");
  // A synchronous run in between cannot await, and a Promise there is still an error.
  assert.throws(() => mp.runPython("import host\nhost.later(1)"), /returned a Promise/);
  await delay(200);
  assert.deepEqual(mp.evalPython("[count, task.done()]"), [5, true]);
  // A later run does not wait for the background task, which goes on.
  await mp.runPythonAsync("import asyncio\nasync def forever():\n    while True:\n        await asyncio.sleep_ms(50)\nbackground = asyncio.create_task(forever())");
  await mp.runPythonAsync("import asyncio\nawait asyncio.sleep_ms(1)\nbackground.cancel()\nquick = True");
  assert.equal(mp.evalPython("quick"), true);
});

test("runs queue one after another", async () => {
  const { mp, stdout } = await load();
  await Promise.all([
    mp.runPythonAsync("import asyncio\nawait asyncio.sleep(0.02)\nprint('first')"),
    mp.runPythonAsync("print('second')"),
  ]);
  assert.deepEqual(stdout, ["first", "second"]);
});

test("in the Worker runner: awaited host calls without SharedArrayBuffer, and a timeout for a runaway task", async (t) => {
  const stdout = [];
  const py = await loadMicroPythonWorker({ stdout: (line) => stdout.push(line) });
  t.after(() => py.terminate());
  py.registerJsFunction("later", async (x) => x + 1);
  py.registerJsFunction("boom", async () => {
    throw new Error("worker boom");
  });
  await py.fs.writeFile("/lib/util.py", "def twice(x):\n    return 2 * x\n");
  await py.runPythonAsync("import util, host, asyncio\nv = await host.later(util.twice(20))\nawait asyncio.sleep(0.01)\nprint(v)");
  assert.deepEqual(stdout, ["41"]);
  const error = await py.runPythonAsync("import host\nawait host.boom()").catch((e) => e);
  assert.equal(error.message, "HostError: worker boom");
  const started = performance.now();
  const spin = "import asyncio\nasync def spin():\n    while True:\n        await asyncio.sleep(0)\nawait spin()";
  const stopped = await py.runPythonAsync(spin, { timeout: 300 }).catch((e) => e);
  assert.ok(stopped instanceof PythonTimeoutError, String(stopped));
  const waiting = await py.runPythonAsync("import asyncio\nawait asyncio.sleep(60)", { timeout: 200 }).catch((e) => e);
  assert.ok(waiting instanceof PythonTimeoutError, String(waiting));
  assert.ok(performance.now() - started < 5000);
  assert.equal(await py.evalPython("1 + 1"), 2, "a fresh interpreter after the timeout");
});
