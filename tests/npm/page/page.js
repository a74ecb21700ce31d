// Runs Python in the page and shows its output; browser.test.js reads it.
import { loadMicroPython, loadMicroPythonWorker, PythonError, PythonTimeoutError } from "mpwasm";

const output = document.getElementById("output");
const status = document.getElementById("status");
const show = (line) => output.append(`${line}\n`);

try {
  const mp = await loadMicroPython({ stdout: show, stderr: show });
  mp.registerJsFunction("title", () => document.title);
  mp.runPython("import sys, host\nprint('hello from', sys.platform, 'in', host.title())\nx = sum(range(10))");
  mp.runPython("import time\nt = time.ticks_ms()\ntime.sleep(0.02)\nprint('x =', x, 'slept', time.ticks_diff(time.ticks_ms(), t) >= 20)");
  try {
    mp.runPython("1 / 0");
  } catch (error) {
    show(`caught ${error instanceof PythonError && error.type}`);
  }
  // Files and an awaited JavaScript Promise, as in the README's example.
  mp.fs.writeFile("/lib/util.py", "def twice(x):\n    return 2 * x\n");
  mp.registerJsFunction("later", (x) => new Promise((resolve) => setTimeout(() => resolve(x + 1), 5)));
  await mp.runPythonAsync("import util, host, asyncio\nv = await host.later(util.twice(20))\nawait asyncio.sleep(0.01)\nopen('/out.txt', 'w').write(str(v))");
  show(`async and files ${mp.fs.readFile("/out.txt", { encoding: "utf8" })}`);
  await mp.reset();
  show(`reset: x gone ${!mp.evalPython("'x' in globals()")}, host kept ${mp.evalPython("__import__('host').title()")}`);

  const worker = await loadMicroPythonWorker({ stdout: show, timeout: 500 });
  worker.registerJsFunction("later", async (n) => new Promise((resolve) => setTimeout(() => resolve(n + 1), 5)));
  const call = worker.runPython("import host\nprint('worker', host.later(1))");
  // Without cross-origin isolation there is no SharedArrayBuffer to wait on.
  show(crossOriginIsolated ? (await call, "isolated") : `not isolated: ${(await call.catch((e) => e)).type}`);
  const stopped = await worker.runPython("while True:\n    pass").catch((error) => error);
  show(`stopped ${stopped instanceof PythonTimeoutError}`);
  const slept = await worker.runPython("import time\ntime.sleep(1e9)").catch((error) => error);
  show(`sleep stopped ${slept instanceof PythonTimeoutError}`);
  show(`fresh worker: ${await worker.evalPython("1 + 1")}`);
  // runPythonAsync needs no SharedArrayBuffer: host calls answer by message.
  await worker.fs.writeFile("/lib/w.py", "N = 2");
  await worker.runPythonAsync("import host, w\nprint('worker async', await host.later(w.N))");
  const spun = await worker.runPythonAsync("import asyncio\nwhile True:\n    await asyncio.sleep(0)").catch((error) => error);
  show(`async task stopped ${spun instanceof PythonTimeoutError}`);
  worker.terminate();
  status.textContent = "done";
} catch (error) {
  status.textContent = `failed: ${error.stack ?? error}`;
}
