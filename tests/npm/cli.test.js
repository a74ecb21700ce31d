// The package's bin, as `npx mpwasm` runs it in a project that installed it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

function npx(args, input = "") {
  const run = spawnSync("npx", ["mpwasm", ...args], { input, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("npx mpwasm -c runs code", () => {
  assert.deepEqual(npx(["-c", "print(1)"]), { status: 0, stdout: "1\n", stderr: "" });
});

test("exceptions and SystemExit set the exit status", () => {
  const failed = npx(["-c", "raise ValueError('boom')"]);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /^Traceback[^]*ValueError: boom\n$/);
  assert.equal(npx(["-c", "import sys; sys.exit(7)"]).status, 7);
  assert.deepEqual(npx(["-c", "import sys; sys.exit('bye')"]), { status: 1, stdout: "", stderr: "bye\n" });
});

test("runs a script file, and reads stdin", () => {
  const dir = mkdtempSync(join(tmpdir(), "mpwasm-cli-"));
  const script = join(dir, "hello.py");
  writeFileSync(script, "name = input()\nprint('hello', name)\n");
  assert.deepEqual(npx([script], "world\n"), { status: 0, stdout: "hello world\n", stderr: "" });
  assert.deepEqual(npx(["-"], "print(6 * 7)\n"), { status: 0, stdout: "42\n", stderr: "" });
});

test("bad usage exits 2", () => {
  assert.equal(npx(["--bogus"]).status, 2);
  assert.equal(npx(["/nonexistent/x.py"]).status, 2);
  for (const size of ["lots", "0", "1k", "2048m"]) {
    const run = npx(["--heapsize", size, "-c", "1"]);
    assert.equal(run.status, 2, size);
    assert.match(run.stderr, /^mpwasm: (bad heap size|heapsize must be a whole number of bytes from 16 KiB to 1 GiB)/, size);
  }
  assert.deepEqual(npx(["--heapsize", "512k", "-c", "print(len(bytearray(1000)))"]).stdout, "1000\n");
});
