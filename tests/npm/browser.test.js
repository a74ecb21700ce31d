// A real page on a localhost server, in headless Chromium driven through
// playwright-core: the installed package as a browser gets it.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.mjs";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

// Serves this project folder (the page and node_modules/mpwasm) with the
// headers that make a page cross-origin isolated, which a Worker's script
// needs too; pages under /plain/ get none, so they are not isolated.
const root = fileURLToPath(new URL(".", import.meta.url));
const requests = [];
const server = createServer((request, response) => {
  const path = new URL(request.url, "http://localhost").pathname;
  const plain = path.startsWith("/plain/");
  const file = join(root, normalize(plain ? path.slice("/plain".length) : path));
  requests.push(path);
  if (!file.startsWith(root) || !existsSync(file)) return response.writeHead(404).end();
  const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream" };
  if (!plain) {
    headers["cross-origin-opener-policy"] = "same-origin";
    headers["cross-origin-embedder-policy"] = "require-corp";
  }
  response.writeHead(200, headers).end(readFileSync(file));
});

let browser;
let origin;

before(async () => {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server.close();
});

// Each page's screenshot is left in this folder for a person to look at.
async function runPage(path, screenshot) {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(String(error)));
  try {
    await page.goto(`${origin}${path}`);
    await page.waitForFunction(() => document.getElementById("status").textContent !== "loading", null, {
      timeout: 30000,
    });
    await page.screenshot({ path: join(root, screenshot) });
    return {
      status: await page.textContent("#status"),
      lines: (await page.textContent("#output")).trimEnd().split("\n"),
      problems,
    };
  } finally {
    await page.close();
  }
}

const EXPECTED = [
  "hello from wasi in mpwasm page",
  "x = 45 slept True",
  "caught ZeroDivisionError",
  "async and files 41",
  "reset: x gone true, host kept mpwasm page",
  "worker 2",
];

// What the Worker does after its first call, isolated or not.
const AFTER = ["stopped true", "sleep stopped true", "fresh worker: 2", "worker async 3", "async task stopped true"];

test("a cross-origin isolated page runs Python in the page and in a Worker", async () => {
  const run = await runPage("/page/index.html", "page-isolated.png");
  assert.equal(run.status, "done");
  assert.deepEqual(run.lines, [...EXPECTED, "isolated", ...AFTER]);
  assert.deepEqual(run.problems, []);
  assert.ok(requests.includes("/node_modules/mpwasm/micropython.wasm"), "the module is found beside the loader");
});

test("an ordinary page runs Python too; its Worker cannot call JavaScript", async () => {
  const run = await runPage("/plain/page/index.html", "page-plain.png");
  assert.equal(run.status, "done");
  assert.deepEqual(run.lines, [
    ...EXPECTED.slice(0, 5),
    "not isolated: HostError",
    ...AFTER,
  ]);
});
