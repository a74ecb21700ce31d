#!/usr/bin/env node
// `npx mpwasm`: MicroPython on the command line, through the same API as
// library users get. No filesystem is mounted: a script is read by Node.
import { readFileSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import { loadMicroPython, PythonError } from "./node.js";

const USAGE = "usage: mpwasm [--heapsize N[k|m]] [-c CODE | FILE | -]\n";

function fail(message) {
  process.stderr.write(`mpwasm: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseSize(text) {
  const match = /^(\d+)([km]?)$/i.exec(text ?? "");
  if (!match) fail(`bad heap size '${text}'`);
  return Number(match[1]) * { "": 1, k: 1024, m: 1024 * 1024 }[match[2].toLowerCase()];
}

let heapsize;
let code;
let file;
const args = process.argv.slice(2);
for (let i = 0; i < args.length && code === undefined && file === undefined; i++) {
  const arg = args[i];
  if (arg === "-c") code = args[++i] ?? fail("-c needs an argument");
  else if (arg === "--heapsize") heapsize = parseSize(args[++i]);
  else if (arg.startsWith("--heapsize=")) heapsize = parseSize(arg.slice(11));
  else if (arg === "-h" || arg === "--help") process.stdout.write(USAGE), process.exit(0);
  else if (arg.startsWith("-") && arg !== "-") fail(`unknown option ${arg}`);
  else file = arg;
}

// input() reads stdin synchronously.
function readStdin() {
  const buffer = new Uint8Array(4096);
  for (;;) {
    try {
      const n = readSync(0, buffer);
      return n ? buffer.subarray(0, n) : null;
    } catch (error) {
      if (error.code === "EAGAIN") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      else if (error.code === "EOF") return null;
      else throw error;
    }
  }
}

const interactive = code === undefined && file === undefined && process.stdin.isTTY;
const mp = await loadMicroPython({
  heapsize,
  linebuffer: false,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: interactive ? undefined : readStdin,
}).catch((error) => {
  // An option out of range, such as the heap size.
  if (error instanceof RangeError) fail(error.message);
  throw error;
});

// Runs source text and returns the exit status a Python process would have.
function run(source, options) {
  try {
    mp.runPython(source, options);
    return 0;
  } catch (error) {
    if (!(error instanceof PythonError)) throw error;
    if (error.exitCode === undefined) {
      process.stderr.write(error.traceback);
      return 1;
    }
    if (error.value && error.value !== String(error.exitCode) && error.value !== "None") {
      process.stderr.write(`${error.value}\n`);
    }
    return error.exitCode;
  }
}

if (!interactive) {
  let source = code;
  if (source === undefined) {
    try {
      source = readFileSync(file === undefined || file === "-" ? 0 : file, "utf8");
    } catch (error) {
      process.stderr.write(`mpwasm: can't open file '${file}': ${error.message}\n`);
      process.exit(2);
    }
  }
  process.exitCode = run(source);
} else {
  mp.runPython('import sys\nprint(sys.version.split("; ")[1] + "; mpwasm on Node.js\\nCtrl-D to exit")');
  const repl = createInterface({ input: process.stdin, output: process.stdout, prompt: ">>> " });
  let pending = "";
  repl.on("line", (line) => {
    pending = pending ? `${pending}\n${line}` : line;
    if (mp.needsMoreInput(pending)) {
      repl.setPrompt("... ");
    } else {
      const status = run(pending, { repl: true });
      if (status !== 0 && status !== 1) process.exit(status);
      pending = "";
      repl.setPrompt(">>> ");
    }
    repl.prompt();
  });
  repl.on("close", () => process.stdout.write("\n"));
  repl.prompt();
}
