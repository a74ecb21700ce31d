// The playground page (dist/web) in headless Chromium, driven like a user
// would: typing, clicking, reading what the page shows. tests/web_page.rs
// serves the bundle through `cargo xtask serve` twice, cross-origin isolated
// (MPWASM_WEB_URL) and with plain headers (MPWASM_WEB_PLAIN_URL), and
// collects the screenshots from MPWASM_WEB_SHOTS.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchChromium } from "./chromium.mjs";

const ISOLATED = process.env.MPWASM_WEB_URL;
const PLAIN = process.env.MPWASM_WEB_PLAIN_URL;
const SHOTS = process.env.MPWASM_WEB_SHOTS;

let browser;

before(async () => {
  assert.ok(ISOLATED && PLAIN && SHOTS, "run through tests/web_page.rs, which sets MPWASM_WEB_URL and friends");
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});

after(() => browser?.close());

// A fresh browser context (own localStorage) on the page, waiting until
// the interpreter is ready. Fails the test on any page error or on a request
// that leaves the page's own origin.
async function open(t, url = ISOLATED, context) {
  context ??= await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const problems = [];
  const origin = new URL(url).origin;
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("request", (request) => {
    if (!request.url().startsWith(origin) && !request.url().startsWith("data:")) problems.push(`fetched ${request.url()}`);
  });
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, []);
  });
  await page.goto(url);
  await waitFor(page, "ready");
  return page;
}

const waitFor = (page, state, timeout = 20000) =>
  page.waitForSelector(`#status[data-state="${state}"]`, { timeout, state: "attached" });

const output = (page) => page.textContent("#output");
const program = (page) => page.inputValue("#editor textarea");

async function replaceProgram(page, code) {
  await page.fill("#editor textarea", code);
}

async function run(page, code, end = "ready") {
  if (code !== undefined) await replaceProgram(page, code);
  await page.click("#run");
  await waitFor(page, end);
  return output(page);
}

test("a program typed into the editor runs, with highlighting, line numbers and indentation", async (t) => {
  const page = await open(t);
  await page.fill("#editor textarea", "");
  await page.click("#editor textarea");
  // Enter keeps the indentation and adds a level after a colon; Backspace
  // in leading spaces goes back one level.
  await page.keyboard.type("def square(n):\nreturn n * n\n\nfor i in range(4):\nprint(i, square(i))\n");
  await page.keyboard.press("Backspace");
  await page.keyboard.type("print('end')");
  assert.equal(
    await program(page),
    "def square(n):\n    return n * n\n\nfor i in range(4):\n    print(i, square(i))\nprint('end')",
  );
  assert.deepEqual(await page.$$eval("#editor .t-kw", (spans) => spans.map((s) => s.textContent)), ["def", "return", "for", "in"]);
  assert.equal(await page.$eval("#editor .t-def", (span) => span.textContent), "square");
  assert.equal(await page.$$eval("#editor .gutter-lines > div", (lines) => lines.length), 6);
  // Tab indents the selected lines, Shift+Tab takes them back.
  await page.keyboard.press("Control+a");
  await page.keyboard.press("Tab");
  assert.match(await program(page), /^ {4}def square\(n\):\n {8}return/);
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Control+Enter");
  await waitFor(page, "ready");
  assert.match(await output(page), /^0 0\n1 1\n2 4\n3 9\nend\nFinished in \d+ ms$/);
  assert.equal(await page.$$eval("#output .run-out", (spans) => spans.length), 1);
});

test("stdout and stderr are kept apart; a traceback marks the failing line", async (t) => {
  const page = await open(t);
  await run(page, "import sys\nprint('to stdout')\nsys.stderr.write('to stderr\\n')");
  assert.equal(await page.textContent("#output .run-out"), "to stdout\n");
  assert.equal(await page.textContent("#output .run-err"), "to stderr\n");

  const text = await run(page, "def average(xs):\n    return sum(xs) / len(xs)\n\nprint(average([]))", "failed");
  assert.match(text, /File "<string>", line 4, in <module>\n {2}File "<string>", line 2, in average\nZeroDivisionError/);
  assert.equal(await page.textContent("#editor .gutter-lines > .error"), "2");
  assert.equal(await page.locator("#editor .error-line").count(), 1);
  await page.screenshot({ path: join(SHOTS, "traceback.png") });
  // The traceback's lines lead to the program's; an edit clears the mark.
  await page.click("#output .line-link >> nth=0");
  assert.equal(await page.evaluate(() => document.querySelector("#editor textarea").selectionStart), "def average(xs):\n    return sum(xs) / len(xs)\n\n".length);
  await page.keyboard.type("#");
  assert.equal(await page.locator("#editor .gutter-lines > .error").count(), 0);

  await run(page, "x = = 1", "failed");
  assert.match(await output(page), /line 1\nSyntaxError/);
});

test("output appears while the program runs; time.sleep and asyncio work", async (t) => {
  const page = await open(t);
  await replaceProgram(page, "import time\nprint('first')\ntime.sleep(1.5)\nprint('second')");
  await page.click("#run");
  await page.waitForFunction(() => document.getElementById("output").textContent.includes("first"));
  assert.equal(await page.getAttribute("#status", "data-state"), "running");
  assert.ok(!(await output(page)).includes("second"));
  await waitFor(page, "ready");
  assert.match(await output(page), /^first\nsecond\nFinished in (1\.[5-9]\d|[2-9]\.\d\d) s$/);

  await page.selectOption("#examples", { label: "asyncio tasks" });
  assert.match(await run(page), /finished: \['fast', 'slow'\]/);
});

test("Stop ends a runaway loop at once and the page stays responsive", async (t) => {
  const page = await open(t);
  await replaceProgram(page, "x = 1\nwhile True:\n    pass");
  await page.click("#run");
  await waitFor(page, "running");
  // The main thread keeps drawing frames while Python spins in the Worker.
  const frames = await page.evaluate(
    () => new Promise((resolve) => {
      let n = 0;
      const tick = () => (++n === 10 ? resolve(n) : requestAnimationFrame(tick));
      requestAnimationFrame(tick);
    }),
  );
  assert.equal(frames, 10);
  await page.click("#stop");
  await waitFor(page, "stopped");
  const stopToIdle = await page.evaluate(
    () => performance.getEntriesByName("playground:idle")[0].startTime - performance.getEntriesByName("playground:stop")[0].startTime,
  );
  assert.ok(stopToIdle < 2000, `stop took ${stopToIdle} ms`);
  assert.match(await output(page), /Stopped\. The interpreter was replaced/);
  // A fresh interpreter: the loop's global is gone.
  assert.match(await run(page, "print('x' in globals(), 6 * 7)"), /^False 42\n/);
});

test("the time limit ends a program that runs too long", async (t) => {
  const page = await open(t);
  await run(page, "while True:\n    pass", "stopped");
  assert.match(await output(page), /Stopped: the program ran for more than 10 s/);
});

test("an output flood is capped without freezing the page", async (t) => {
  const page = await open(t);
  const text = await run(page, "while True:\n    print('spam ' * 20)", "failed");
  assert.match(text, /more characters not shown/);
  assert.match(text, /Stopped: the program wrote more than 1 MiB to stdout\./);
  assert.ok(text.length < 260_000, `${text.length} characters in the pane`);
  assert.match(await run(page, "print('after the flood')"), /^after the flood\n/);
});

test("input() is answered from the output pane in a cross-origin isolated page", async (t) => {
  const page = await open(t);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.equal(await page.isHidden("#isolation"), true);
  await page.selectOption("#examples", { label: "Ask for input" });
  await page.click("#run");
  await waitFor(page, "input");
  await page.keyboard.type("Ada");
  await page.screenshot({ path: join(SHOTS, "input.png") });
  await page.keyboard.press("Enter");
  await page.waitForSelector("#output input.stdin");
  await page.keyboard.type("36");
  await page.keyboard.press("Enter");
  await waitFor(page, "ready");
  assert.match(await output(page), /^What is your name\? Ada\nHow old are you\? 36\nHello Ada, in ten years you will be 46\.\n/);
  assert.deepEqual(await page.$$eval("#output .run-in", (spans) => spans.map((s) => s.textContent)), ["Ada\n", "36\n"]);
});

test("without isolation input() raises a clear error and the page says how to enable it", async (t) => {
  const page = await open(t, PLAIN);
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  assert.match(await page.textContent("#isolation"), /cargo xtask serve/);
  const text = await run(page, "print('before')\nname = input('name? ')", "failed");
  assert.match(text, /^before\nTraceback[^]*OSError: input\(\) in a Worker needs SharedArrayBuffer/);
  assert.equal(await page.textContent("#editor .gutter-lines > .error"), "2");
  // Everything else works as it is: sleeping included.
  assert.match(await run(page, "import time\ntime.sleep(0.2)\nprint('slept')"), /^slept\n/);
  await page.screenshot({ path: join(SHOTS, "plain-headers.png") });
});

test("the program lives in the URL and in localStorage", async (t) => {
  const page = await open(t);
  const code = "# é → shared\nprint('shared', 6 * 7)";
  await replaceProgram(page, code);
  await page.waitForFunction(() => location.hash.startsWith("#code="));
  const link = page.url();
  // A reader elsewhere (a new context: no localStorage) gets the program.
  const reader = await open(t, link);
  assert.equal(await program(reader), code);
  assert.match(await run(reader), /^shared 42\n/);
  // The same browser without the link gets its last program back.
  const again = await open(t, new URL(link).origin + "/", page.context());
  assert.equal(await program(again), code);
  // A broken link says so and keeps the last program.
  const broken = await open(t, new URL(link).origin + "/#code=%%%", page.context());
  assert.equal(await program(broken), code);
  assert.match(await output(broken), /could not be read/);
});

test("the REPL keeps state, history and blocks", async (t) => {
  const page = await open(t);
  await run(page, "greeting = 'hi'");
  const enter = async (line) => {
    await page.fill("#repl-input", line);
    await page.press("#repl-input", "Enter");
  };
  await enter("greeting * 2");
  await enter("def inc(x):");
  await enter("    return x + 1");
  await enter("");
  await enter("inc(41)");
  await page.waitForFunction(() => document.getElementById("repl").textContent.includes("42"));
  await waitFor(page, "ready");
  const transcript = await page.textContent("#repl");
  assert.match(transcript, />>> greeting \* 2\n'hihi'\n>>> def inc\(x\):\n\.\.\. {5}return x \+ 1\n\.\.\. \n>>> inc\(41\)\n42\n$/);
  await page.press("#repl-input", "ArrowUp");
  assert.equal(await page.inputValue("#repl-input"), "inc(41)");
  await page.press("#repl-input", "ArrowUp");
  assert.equal(await page.inputValue("#repl-input"), "    return x + 1");
  await page.press("#repl-input", "ArrowDown");
  assert.equal(await page.inputValue("#repl-input"), "inc(41)");
  await enter("undefined_name");
  await waitFor(page, "failed");
  assert.match(await page.textContent("#repl"), /Traceback \(most recent call last\):\n {2}File "<stdin>", line 1, in <module>\nNameError: name 'undefined_name' isn't defined\n$/);

  await page.selectOption("#examples", { label: "A traceback" });
  await run(page, undefined, "failed");
  await page.screenshot({ path: join(SHOTS, "playground.png") });
});
