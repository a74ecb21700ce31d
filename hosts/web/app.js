// The playground page: the editor, Run and Stop, the output pane, the REPL,
// examples, and the program kept in the URL and in localStorage. Python runs
// in the npm package's Worker runner, so a runaway program is ended by
// terminating its Worker while this thread stays responsive.
import { loadMicroPythonWorker, PythonError, PythonOutputLimitError } from "./mpwasm/browser.js";
import { Editor } from "./editor.js";
import { EXAMPLES } from "./examples.js";

// Wall-clock limit of one run, not counting the time it waits for input().
const TIME_LIMIT_MS = 10_000;
// Bytes a run may write to stdout and to stderr; the Worker stops it past that.
const MAX_OUTPUT = 1 << 20;
// Characters a pane shows; a flood beyond that is counted, not drawn.
const SHOWN_CHARS = 200_000;
const HEAP_BYTES = 16 << 20;
const STORAGE_KEY = "mpwasm.playground.program";

const $ = (id) => document.getElementById(id);

// Performance marks, read by the benchmark and by anyone curious.
const mark = (name) => performance.mark(`playground:${name}`);

// A pane of text runs: stdout, stderr, echoed input and the page's own
// notes, each styled apart. Writes are batched into one DOM update a frame.
class Console {
  constructor(element) {
    this.element = element;
    this.pending = [];
    this.shown = 0;
    this.hidden = 0;
    this.frame = 0;
  }

  write(text, kind) {
    if (!text) return;
    const room = SHOWN_CHARS - this.shown;
    if (text.length > room) {
      this.hidden += text.length - Math.max(room, 0);
      text = text.slice(0, Math.max(room, 0));
    }
    this.shown += text.length;
    const last = this.pending.at(-1);
    if (last?.kind === kind) last.text += text;
    else if (text) this.pending.push({ kind, text });
    this.frame ||= requestAnimationFrame(() => this.flush());
  }

  flush() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const stick = this.element.scrollTop + this.element.clientHeight >= this.element.scrollHeight - 4;
    for (const { kind, text } of this.pending) {
      const last = this.element.lastElementChild;
      if (last?.dataset.kind === kind && !last.classList.contains("note")) {
        last.append(text);
      } else {
        const span = document.createElement("span");
        span.className = `run-${kind}`;
        span.dataset.kind = kind;
        span.textContent = text;
        this.element.append(span);
      }
    }
    this.pending = [];
    if (this.hidden) {
      this.notice ??= this.element.appendChild(Object.assign(document.createElement("div"), { className: "note" }));
      this.notice.textContent = `… ${this.hidden.toLocaleString()} more characters not shown`;
      this.element.append(this.notice);
    }
    if (stick) this.element.scrollTop = this.element.scrollHeight;
  }

  // A line from the page itself (a run's outcome, a hint).
  note(text, kind = "info") {
    this.flush();
    const div = document.createElement("div");
    div.className = `note note-${kind}`;
    div.textContent = text;
    this.element.append(div);
    this.element.scrollTop = this.element.scrollHeight;
    return div;
  }

  // A traceback whose lines in the program jump to them when clicked.
  traceback(text, onLine) {
    this.flush();
    const pre = document.createElement("span");
    pre.className = "run-err";
    pre.dataset.kind = "traceback";
    for (const line of text.replace(/\n$/, "").split("\n")) {
      const match = onLine && /^\s*File "<string>", line (\d+)/.exec(line);
      if (match) {
        const link = document.createElement("a");
        link.href = "#";
        link.className = "line-link";
        link.title = `Go to line ${match[1]}`;
        link.textContent = line.trimStart();
        link.addEventListener("click", (event) => (event.preventDefault(), onLine(Number(match[1]))));
        pre.append(line.slice(0, line.length - link.textContent.length), link, "\n");
      } else {
        pre.append(line + "\n");
      }
    }
    this.element.append(pre);
    this.element.scrollTop = this.element.scrollHeight;
  }

  // An input field at the end of the pane: resolves with the typed line and
  // its newline, or null for end of input (Ctrl+D).
  ask() {
    this.flush();
    const field = document.createElement("input");
    field.className = "stdin";
    field.setAttribute("aria-label", "Input for the program");
    field.spellcheck = false;
    this.element.append(field);
    this.element.scrollTop = this.element.scrollHeight;
    field.focus();
    return new Promise((resolve) => {
      this.cancelAsk = () => (field.remove(), resolve(null));
      field.addEventListener("keydown", (event) => {
        const eof = event.key === "d" && event.ctrlKey;
        if (event.key !== "Enter" && !eof) return;
        event.preventDefault();
        field.remove();
        this.cancelAsk = undefined;
        if (eof) return resolve(null);
        this.write(field.value + "\n", "in");
        this.flush();
        resolve(field.value + "\n");
      });
    });
  }

  clear() {
    this.cancelAsk?.();
    this.pending = [];
    this.shown = this.hidden = 0;
    this.notice = undefined;
    this.element.replaceChildren();
  }
}

const output = new Console($("output"));
const repl = new Console($("repl"));
const status = $("status");
const runButton = $("run");
const stopButton = $("stop");

function setStatus(state, text = state) {
  status.dataset.state = state;
  status.textContent = text;
  document.body.dataset.state = state;
}

// ---- The interpreter.

let sink = output; // where the running call's output goes
let run; // the run in progress: { limit, stopped, done, idle }
let fresh = true; // no run yet in this interpreter

function startWorker() {
  return loadMicroPythonWorker({
    heapsize: HEAP_BYTES,
    maxOutput: MAX_OUTPUT,
    linebuffer: false,
    stdout: (text) => sink.write(text, "out"),
    stderr: (text) => sink.write(text, "err"),
    stdin: readLine,
  });
}

// Compiling starts before the rest of the page is set up; the first Run
// waits for it if it has to.
let python = startWorker().then(
  (py) => {
    mark("ready");
    if (!run) setStatus("ready");
    // Not beside the first run, which may be waiting for this interpreter.
    const afterRuns = () => (run ? run.done.then(afterRuns) : prepareSpare());
    setTimeout(afterRuns);
    return py;
  },
  (error) => {
    setStatus("error", "failed to start");
    output.note(`MicroPython could not start: ${error.message}`, "error");
    throw error;
  },
);

// A second interpreter waits in its own Worker, so that Stop swaps it in at
// once instead of waiting for a new Worker to load and start (the module is
// compiled once and shared).
let spare;
function prepareSpare() {
  spare = startWorker();
  spare.catch(() => (spare = undefined));
}

// ---- The program: the URL's #code=, else localStorage, else an example.

function toBase64url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function programFromUrl() {
  const code = new URLSearchParams(location.hash.slice(1)).get("code");
  if (code == null) return null;
  try {
    return fromBase64url(code);
  } catch {
    output.note("The link's program could not be read (it is not base64url UTF-8 text); showing the last one.", "error");
    return null;
  }
}

const linkFor = (code) => `${location.origin}${location.pathname}#code=${toBase64url(code)}`;

let saveTimer = 0;
function save(code) {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    history.replaceState(null, "", linkFor(code));
    try {
      localStorage.setItem(STORAGE_KEY, code);
      $("saved").textContent = "saved";
    } catch {
      $("saved").textContent = "not saved (storage is off)";
    }
  }, 250);
}

const editor = new Editor($("editor"), { onChange: save, onRun: () => runProgram() });
const stored = (() => {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
})();
editor.value = programFromUrl() ?? stored ?? EXAMPLES[0].code;

const examples = $("examples");
for (const [i, example] of EXAMPLES.entries()) examples.add(new Option(example.name, String(i)));
examples.addEventListener("change", () => {
  const example = EXAMPLES[Number(examples.value)];
  examples.value = "";
  if (!example) return;
  // Through the editing commands, so Ctrl+Z brings the previous program back.
  editor.replaceAll(example.code);
});

window.addEventListener("hashchange", () => {
  const code = programFromUrl();
  if (code != null && code !== editor.value) editor.value = code;
});

$("share").addEventListener("click", async () => {
  const link = linkFor(editor.value);
  history.replaceState(null, "", link);
  try {
    await navigator.clipboard.writeText(link);
    flash($("share"), "Link copied");
  } catch {
    flash($("share"), "Link in the address bar");
  }
});

function flash(button, text) {
  const label = button.dataset.label ?? (button.dataset.label = button.textContent);
  button.textContent = text;
  setTimeout(() => (button.textContent = label), 1500);
}

if (!crossOriginIsolated) $("isolation").hidden = false;
$("limits").textContent =
  `time limit ${TIME_LIMIT_MS / 1000} s a run (waiting for input not counted) · output up to ${MAX_OUTPUT >> 20} MiB · heap ${HEAP_BYTES >> 20} MiB`;

// The wall clock pauses while the program waits for the user.
function startLimit() {
  const limit = run.limit;
  limit.started = performance.now();
  limit.timer = setTimeout(() => stop("limit"), limit.remaining);
}

function pauseLimit() {
  const limit = run.limit;
  clearTimeout(limit.timer);
  limit.remaining -= performance.now() - limit.started;
}

async function readLine() {
  if (!run) return null;
  pauseLimit();
  setStatus("input", "waiting for input");
  const line = await sink.ask();
  if (run && !run.stopped) {
    setStatus("running");
    startLimit();
  }
  return line;
}

// Ends the run in progress by terminating its Worker; `why` is "stop" or
// "limit". The page is idle again once the spare interpreter is ready.
function stop(why) {
  if (!run || run.stopped) return;
  mark("stop");
  run.stopped = why;
  clearTimeout(run.limit.timer);
  sink.cancelAsk?.();
  setStatus("stopping");
  stopButton.disabled = true;
  const stopped = python;
  python = spare ?? startWorker();
  spare = undefined;
  stopped.then((py) => py.terminate()).catch(() => {});
  run.idle = python
    .catch(() => {})
    .then(() => {
      fresh = true;
      mark("idle");
      prepareSpare();
    });
}

const CLEAR_GLOBALS = `exec("for k in [k for k in g if k[:2] != '__']: del g[k]", {"g": globals()})`;

async function execute(code, pane, { asRepl = false } = {}) {
  if (run) return;
  let finished;
  run = { limit: { remaining: TIME_LIMIT_MS }, stopped: null, done: new Promise((resolve) => (finished = resolve)) };
  const current = run;
  sink = pane;
  setStatus("running");
  runButton.disabled = true;
  stopButton.disabled = false;
  const started = performance.now();
  try {
    const py = await python;
    // Stopped while the interpreter was still loading: nothing to run.
    if (current.stopped) throw new Error("stopped before it started");
    // A program starts from empty globals; a fresh interpreter has them.
    if (!asRepl && !fresh) await py.runPython(CLEAR_GLOBALS);
    fresh = false;
    startLimit();
    await py.runPython(asRepl ? `exec(compile(${JSON.stringify(code)}, "<stdin>", "single"))` : code);
    if (!asRepl) pane.note(`Finished in ${formatMs(performance.now() - started)}`, "done");
  } catch (error) {
    pane.cancelAsk?.();
    report(error, pane, current, asRepl);
  } finally {
    clearTimeout(current.limit.timer);
    pane.flush();
    mark("run-end");
    if (current.stopped) await current.idle;
    run = undefined;
    sink = output;
    runButton.disabled = false;
    stopButton.disabled = true;
    setStatus(current.stopped ? "stopped" : current.failed ? "failed" : "ready");
    finished();
  }
}

function report(error, pane, current, asRepl) {
  if (current.stopped) {
    const why =
      current.stopped === "limit"
        ? `Stopped: the program ran for more than ${TIME_LIMIT_MS / 1000} s. Its interpreter was replaced.`
        : "Stopped. The interpreter was replaced; variables from earlier runs are gone.";
    pane.note(why, "stopped");
    return;
  }
  current.failed = true;
  if (error instanceof PythonError) {
    let traceback = error.traceback ?? `${error.type}: ${error.value}\n`;
    if (asRepl) traceback = traceback.replace(/^ {2}File "<string>", line 1, in <module>\n/m, "");
    const lines = [...traceback.matchAll(/File "<string>", line (\d+)/g)];
    if (!asRepl && lines.length) {
      const line = Number(lines.at(-1)[1]);
      editor.markError(line);
      pane.traceback(traceback, (n) => editor.goToLine(n));
    } else {
      pane.traceback(traceback);
    }
    if (/SharedArrayBuffer/.test(error.value ?? "")) $("isolation").classList.add("attention");
  } else if (error instanceof PythonOutputLimitError) {
    pane.note(`Stopped: the program wrote more than ${MAX_OUTPUT >> 20} MiB to ${error.stream}.`, "stopped");
  } else {
    pane.note(`The interpreter failed: ${error.message}. The next run starts a fresh one.`, "error");
  }
}

const formatMs = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);

function runProgram() {
  if (run) return;
  output.clear();
  editor.markError(0);
  execute(editor.value, output);
}

runButton.addEventListener("click", () => runProgram());
stopButton.addEventListener("click", () => stop("stop"));
$("output").addEventListener("keydown", (event) => event.key === "Escape" && stop("stop"));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && run && event.target.classList?.contains("stdin")) stop("stop");
});
$("clear-output").addEventListener("click", () => output.clear());
$("clear-repl").addEventListener("click", () => repl.clear());

// ---- The REPL: one statement (or block) at a time, with history.

const replInput = $("repl-input");
const replPrompt = $("repl-prompt");
const replHistory = [];
let historyAt = 0;
let block = [];

// Whether `source` needs more lines: an open bracket or string, a trailing
// backslash, or a compound statement (which ends at an empty line).
function incomplete(source, lastLine) {
  if (block.length && lastLine.trim() !== "") return true;
  let depth = 0;
  const code = source.replace(/'''[\s\S]*?'''|"""[\s\S]*?"""|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|#[^\n]*/g, "");
  if (/'''|"""/.test(code)) return true;
  for (const c of code) depth += "([{".includes(c) ? 1 : ")]}".includes(c) ? -1 : 0;
  return depth > 0 || /\\$/.test(source) || (!block.length && (/:\s*$/.test(code) || /^\s*@/.test(code)));
}

$("repl-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const line = replInput.value;
  replInput.value = "";
  repl.write(`${block.length ? "..." : ">>>"} ${line}\n`, "prompt");
  if (line.trim() && replHistory.at(-1) !== line) replHistory.push(line);
  historyAt = replHistory.length;
  const source = [...block, line].join("\n");
  if (incomplete(source, line)) {
    block.push(line);
    replPrompt.textContent = "...";
    return;
  }
  block = [];
  replPrompt.textContent = ">>>";
  if (!source.trim()) return;
  // A line entered while something runs waits its turn.
  while (run) await run.done;
  await execute(source + "\n", repl, { asRepl: true });
  replInput.focus();
});

replInput.addEventListener("keydown", (event) => {
  if (event.key === "ArrowUp" && historyAt > 0) {
    replInput.value = replHistory[--historyAt];
  } else if (event.key === "ArrowDown" && historyAt < replHistory.length) {
    replInput.value = replHistory[++historyAt] ?? "";
  } else if (event.key === "Tab" && replInput.value.trim() === "" && block.length) {
    replInput.value += "    ";
  } else if (event.key === "Escape" && block.length) {
    repl.write("KeyboardInterrupt\n", "err");
    block = [];
    replPrompt.textContent = ">>>";
  } else {
    return;
  }
  event.preventDefault();
  const end = replInput.value.length;
  replInput.setSelectionRange(end, end);
});

repl.note("Type Python here; ↑ and ↓ go through the history, Esc abandons a block.", "hint");
