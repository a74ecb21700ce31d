// A small code editor: a plain <textarea> (so typing, selection, undo,
// IME and accessibility stay the browser's) over a highlighted copy of its
// text, with a line-number gutter. Both layers use the same font metrics
// and scroll together.

const KEYWORDS = new Set(
  ("False None True and as assert async await break class continue def del elif else except finally for from " +
    "global if import in is lambda nonlocal not or pass raise return try while with yield").split(" "),
);
const BUILTINS = new Set(
  ("abs all any bin bool bytearray bytes callable chr classmethod dict dir divmod enumerate eval exec filter " +
    "float format frozenset getattr globals hasattr hash help hex id input int isinstance issubclass iter len " +
    "list locals map max min next object oct open ord pow print property range repr reversed round set setattr " +
    "slice sorted staticmethod str sum super tuple type zip self __name__").split(" "),
);

// One pass over the whole text, so triple-quoted strings and comments that
// contain quotes are recognised wherever they start.
const TOKEN = new RegExp(
  [
    /(#[^\n]*)/.source,
    /((?:[rRbBfFuU]{1,2})?(?:'''[\s\S]*?(?:'''|$)|"""[\s\S]*?(?:"""|$)|'(?:\\.|[^'\\\n])*'?|"(?:\\.|[^"\\\n])*"?))/.source,
    /(\b(?:0[xX][\da-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?j?)\b)/.source,
    /(@[A-Za-z_][\w.]*)/.source,
    /([A-Za-z_]\w*)/.source,
  ].join("|"),
  "g",
);

const escape = (text) => text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));

export function highlight(source) {
  let html = "";
  let at = 0;
  let afterDef = false;
  for (const match of source.matchAll(TOKEN)) {
    html += escape(source.slice(at, match.index));
    at = match.index + match[0].length;
    const [text, comment, string, number, decorator, word] = match;
    let kind = comment ? "com" : string ? "str" : number ? "num" : decorator ? "dec" : "";
    if (word) {
      kind = afterDef ? "def" : KEYWORDS.has(word) ? "kw" : BUILTINS.has(word) ? "bi" : "";
      afterDef = word === "def" || word === "class";
    } else {
      afterDef = false;
    }
    html += kind ? `<span class="t-${kind}">${escape(text)}</span>` : escape(text);
  }
  // A final newline needs a character after it, or the last line collapses.
  return html + escape(source.slice(at)) + "\n";
}

const INDENT = "    ";

export class Editor {
  constructor(root, { onChange, onRun } = {}) {
    this.root = root;
    root.classList.add("editor");
    root.innerHTML =
      '<div class="gutter" aria-hidden="true"><div class="gutter-lines"></div></div>' +
      '<div class="code"><pre class="highlight" aria-hidden="true"><code></code></pre>' +
      '<textarea spellcheck="false" autocapitalize="off" autocomplete="off" wrap="off" aria-label="Python program"></textarea></div>';
    this.gutter = root.querySelector(".gutter-lines");
    this.layer = root.querySelector(".highlight");
    this.code = root.querySelector("code");
    this.textarea = root.querySelector("textarea");
    this.onChange = onChange ?? (() => {});
    this.lines = 0;
    this.errorLine = 0;
    // After Escape, Tab moves the focus on instead of indenting.
    this.tabMovesFocus = false;
    this.textarea.addEventListener("input", () => this.refresh(true));
    this.textarea.addEventListener("scroll", () => this.syncScroll());
    this.textarea.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
        event.preventDefault();
        onRun?.();
      } else {
        this.keydown(event);
      }
    });
    new ResizeObserver(() => this.syncScroll()).observe(this.textarea);
  }

  get value() {
    return this.textarea.value;
  }

  set value(text) {
    this.textarea.value = text;
    this.textarea.setSelectionRange(0, 0);
    this.textarea.scrollTop = 0;
    this.refresh(false);
  }

  focus() {
    this.textarea.focus();
  }

  refresh(edited) {
    if (edited) this.markError(0);
    this.code.innerHTML = highlight(this.textarea.value);
    const lines = this.textarea.value.split("\n").length;
    if (lines !== this.lines) {
      this.lines = lines;
      let numbers = "";
      for (let n = 1; n <= lines; n++) numbers += `<div>${n}</div>`;
      this.gutter.innerHTML = numbers;
      this.showError();
    }
    this.syncScroll();
    if (edited) this.onChange(this.textarea.value);
  }

  syncScroll() {
    const { scrollTop, scrollLeft } = this.textarea;
    this.layer.style.transform = `translate(${-scrollLeft}px, ${-scrollTop}px)`;
    this.gutter.style.transform = `translateY(${-scrollTop}px)`;
  }

  // Marks line `n` (1-based; 0 clears) as where the last run failed.
  markError(n) {
    if (n === this.errorLine) return;
    this.errorLine = n;
    this.showError();
  }

  showError() {
    this.root.querySelector(".gutter .error")?.classList.remove("error");
    this.layer.querySelector(".error-line")?.remove();
    const n = this.errorLine;
    if (!n || n > this.lines) return;
    this.gutter.children[n - 1].classList.add("error");
    const band = document.createElement("div");
    band.className = "error-line";
    band.style.top = `calc(var(--pad) + ${n - 1} * var(--line))`;
    this.layer.prepend(band);
  }

  // Scrolls line `n` into view and puts the caret at its start.
  goToLine(n) {
    const starts = this.textarea.value.split("\n").slice(0, n - 1);
    const at = starts.reduce((sum, line) => sum + line.length + 1, 0);
    this.textarea.focus();
    this.textarea.setSelectionRange(at, at);
    const line = parseFloat(getComputedStyle(this.root).getPropertyValue("--line")) || 20;
    const top = (n - 1) * line;
    if (top < this.textarea.scrollTop || top > this.textarea.scrollTop + this.textarea.clientHeight - 2 * line) {
      this.textarea.scrollTop = Math.max(0, top - this.textarea.clientHeight / 3);
    }
  }

  // Replaces the whole program as one undoable edit.
  replaceAll(text) {
    this.textarea.focus();
    this.insert(text, 0, this.textarea.value.length);
    this.textarea.setSelectionRange(0, 0);
    this.textarea.scrollTop = this.textarea.scrollLeft = 0;
    this.syncScroll();
  }

  // Replaces the selection through the browser's editing commands, so the
  // change joins the undo history.
  insert(text, from = this.textarea.selectionStart, to = this.textarea.selectionEnd) {
    this.textarea.setSelectionRange(from, to);
    // Inserting empty text misplaces the caret; deleting does not.
    const done = text ? document.execCommand("insertText", false, text) : from === to || document.execCommand("delete");
    if (!done) {
      this.textarea.setRangeText(text, from, to, "end");
      this.refresh(true);
    }
  }

  keydown(event) {
    const ta = this.textarea;
    const { selectionStart: start, selectionEnd: end, value } = ta;
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    if (event.key === "Escape") {
      this.tabMovesFocus = true;
      return;
    }
    if (event.key === "Tab" && !this.tabMovesFocus && !event.ctrlKey && !event.altKey && !event.metaKey) {
      event.preventDefault();
      if (start === end && !event.shiftKey) {
        // To the next multiple of four columns.
        const column = start - lineStart;
        this.insert(" ".repeat(INDENT.length - (column % INDENT.length)));
        return;
      }
      // Indents or dedents every line the selection touches.
      const blockEnd = end > start && value[end - 1] === "\n" ? end - 1 : end;
      const lines = value.slice(lineStart, blockEnd).split("\n");
      const changed = lines.map((line) =>
        event.shiftKey ? line.replace(new RegExp(`^ {1,${INDENT.length}}|^\\t`), "") : line && INDENT + line,
      );
      const text = changed.join("\n");
      this.insert(text, lineStart, blockEnd);
      const firstDelta = changed[0].length - lines[0].length;
      ta.setSelectionRange(
        start === end ? Math.max(lineStart, start + firstDelta) : lineStart,
        start === end ? Math.max(lineStart, start + firstDelta) : lineStart + text.length,
      );
      return;
    }
    this.tabMovesFocus = false;
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.altKey) {
      // Keeps the indentation, one level more after a colon.
      const line = value.slice(lineStart, start);
      let indent = line.match(/^[ \t]*/)[0];
      const code = line.replace(/#.*$/, "").trimEnd();
      if (code.endsWith(":")) indent += INDENT;
      else if (/^\s*(return|pass|break|continue|raise)\b/.test(code)) indent = indent.slice(0, -INDENT.length);
      // A bare newline is left to the browser: inserted as text it is lost.
      if (!indent) return;
      event.preventDefault();
      this.insert("\n" + indent);
      return;
    }
    if (event.key === "Backspace" && start === end && start > lineStart) {
      // In leading spaces, back to the previous indentation stop.
      const before = value.slice(lineStart, start);
      if (/^ +$/.test(before)) {
        event.preventDefault();
        const remove = before.length % INDENT.length || INDENT.length;
        this.insert("", start - remove, start);
      }
    }
  }
}
