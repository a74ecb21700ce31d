// Size budget of the JavaScript a page loads: ≤ 8 KiB gzip.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const dir = fileURLToPath(new URL(".", import.meta.resolve("mpwasm/package.json")));
const gzip = (names) => gzipSync(Buffer.concat(names.map((name) => readFileSync(dir + name))), { level: 9 }).length;

test("the browser glue fits in 8 KiB gzip", () => {
  // Everything a page may fetch: the entry, what it imports, the Worker's script.
  const browser = gzip(["core.js", "fs.js", "abi.js", "browser.js", "worker.js"]);
  const all = gzip(readdirSync(dir).filter((name) => name.endsWith(".js")));
  const wasm = readFileSync(dir + "micropython.wasm");
  console.log(
    JSON.stringify({
      browser_glue_gzip: browser,
      all_js_gzip: all,
      wasm_bytes: wasm.length,
      wasm_gzip: gzipSync(wasm, { level: 9 }).length,
    }),
  );
  assert.ok(browser <= 8192, `browser glue is ${browser} bytes gzip`);
});
