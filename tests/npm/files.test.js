// Files: the in-memory file system shared by Python (open, os, import) and
// `mp.fs`, Node folder mounts, and the limit on bytes stored.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadMicroPython, loadMicroPythonWorker, PythonError } from "mpwasm";

async function load(options = {}) {
  const stdout = [];
  const mp = await loadMicroPython({ stdout: (line) => stdout.push(line), ...options });
  return { mp, stdout };
}

const thrown = (body) => {
  try {
    body();
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
};

test("the issue's example: a module written from JavaScript, an awaited host function, a file read back", async () => {
  const mp = await loadMicroPython();
  mp.fs.writeFile("/lib/util.py", "def twice(x):\n    return 2 * x\n");
  mp.registerJsFunction("later", async (x) => x + 1);
  await mp.runPythonAsync("import util, host\nv = await host.later(util.twice(20))\nopen('/out.txt', 'w').write(str(v))");
  assert.equal(mp.fs.readFile("/out.txt", { encoding: "utf8" }), "41");
});

test("Python's open and os see what mp.fs writes, and the other way round", async () => {
  const { mp, stdout } = await load();
  mp.fs.mkdir("/data");
  mp.fs.writeFile("/data/text.txt", "héllo\n");
  mp.fs.writeFile("/data/raw.bin", new Uint8Array([0, 1, 255]));
  mp.runPython(`
import os
print(sorted(os.listdir('/data')), 'data' in os.listdir('/'))
print(open('/data/text.txt').read().strip(), list(open('/data/raw.bin', 'rb').read()))
print(os.stat('/data/text.txt')[6], os.stat('/data')[0] & 0o170000 == 0o040000)
with open('/data/text.txt', 'a') as f:
    f.write('more')
f = open('/data/text.txt', 'rb')
f.seek(-4, 2)
print(f.read(), f.tell())
f.close()
os.mkdir('/data/sub')
os.rename('/data/raw.bin', '/data/sub/moved.bin')
with open('/data/new.txt', 'w') as f:
    f.write('from python')
os.remove('/data/text.txt')
`);
  assert.deepEqual(stdout, ["['raw.bin', 'text.txt'] True", "héllo [0, 1, 255]", "7 True", "b'more' 11"]);
  assert.deepEqual(mp.fs.readdir("/data").sort(), ["new.txt", "sub"]);
  assert.equal(mp.fs.readFile("/data/new.txt", "utf8"), "from python");
  assert.deepEqual([...mp.fs.readFile("/data/sub/moved.bin")], [0, 1, 255]);
  const stat = mp.fs.stat("/data/sub/moved.bin");
  assert.deepEqual([stat.size, stat.isFile(), stat.isDirectory()], [3, true, false]);
  assert.ok(mp.fs.stat("/data/sub").isDirectory());
  assert.equal(mp.fs.exists("/data/text.txt"), false);
  mp.fs.unlink("/data/new.txt");
  mp.fs.mkdir("/a/b/c", { recursive: true });
  mp.fs.rename("/a", "/z");
  assert.deepEqual([mp.fs.exists("/z/b/c"), mp.fs.exists("/a")], [true, false]);
  mp.fs.rmdir("/z/b/c");
  assert.deepEqual(mp.fs.readdir("/z/b"), []);
});

test("mp.fs errors carry Node's codes; Python gets OSError with the errno", async () => {
  const { mp, stdout } = await load();
  for (const [body, code] of [
    [() => mp.fs.readFile("/missing"), "ENOENT"],
    [() => mp.fs.writeFile("/no/such/dir.txt", "x"), "ENOENT"],
    [() => mp.fs.mkdir("/lib"), "EEXIST"],
    [() => mp.fs.readdir("/lib/nothing"), "ENOENT"],
    [() => mp.fs.unlink("/lib"), "EISDIR"],
  ]) {
    const error = thrown(body);
    assert.equal(error.code, code, String(error));
    assert.match(error.message, new RegExp(`^${code}: `));
  }
  mp.fs.writeFile("/lib/f", "x");
  assert.equal(thrown(() => mp.fs.rmdir("/lib")).code, "ENOTEMPTY");
  mp.runPython(`
import errno
for code in ["open('/missing')", "open('/lib/f/x', 'w')", "__import__('os').mkdir('/lib')"]:
    try:
        exec(code)
    except OSError as e:
        print(errno.errorcode[e.errno])
`);
  assert.deepEqual(stdout, ["ENOENT", "ENOTDIR", "EEXIST"]);
});

test("modules on sys.path: /lib, and the working directory for scripts written there", async () => {
  const { mp, stdout } = await load();
  mp.fs.mkdir("/lib/pkg");
  mp.fs.writeFile("/lib/pkg/__init__.py", "from .inner import VALUE\n");
  mp.fs.writeFile("/lib/pkg/inner.py", "VALUE = 'package import'\n");
  mp.fs.writeFile("/top.py", "NAME = 'from /'\n");
  mp.runPython("import sys, pkg\nprint(pkg.VALUE, '/lib' in sys.path)\nimport top\nprint(top.NAME)");
  assert.deepEqual(stdout, ["package import True", "from /"]);
  // A module Python writes itself is importable at once.
  mp.runPython("open('/lib/made.py', 'w').write('X = 3')\nimport made\nprint(made.X)");
  assert.equal(stdout.at(-1), "3");
});

test("files outlive reset(); the limit on stored bytes gives ENOSPC", async () => {
  const { mp, stdout } = await load({ fsLimit: 1000 });
  mp.fs.writeFile("/keep.txt", "a".repeat(600));
  await mp.reset();
  assert.equal(mp.fs.readFile("/keep.txt", "utf8").length, 600);
  const error = thrown(() => mp.fs.writeFile("/big.txt", new Uint8Array(500)));
  assert.equal(error.code, "ENOSPC");
  assert.match(error.message, /fsLimit, 1000 bytes/);
  mp.runPython(`
import errno
try:
    with open('/more.txt', 'w') as f:
        f.write('b' * 300)
        f.write('c' * 300)
except OSError as e:
    print(errno.errorcode[e.errno])
`);
  assert.deepEqual(stdout, ["ENOSPC"]);
  assert.equal(mp.fs.stat("/more.txt").size, 300, "the write that fits stays");
  mp.fs.unlink("/keep.txt");
  mp.fs.writeFile("/big.txt", new Uint8Array(500));
  await assert.rejects(loadMicroPython({ fsLimit: -1 }), RangeError);
});

test("Node folders mount read-only or read-write", async () => {
  const parent = mkdtempSync(join(tmpdir(), "mpwasm-mount-"));
  writeFileSync(join(parent, "secret.txt"), "outside the mount");
  const dir = join(parent, "shared");
  mkdirSync(dir);
  writeFileSync(join(dir, "in.txt"), "from the host");
  writeFileSync(join(dir, "mod.py"), "WHERE = 'host folder'");
  const { mp, stdout } = await load({ mounts: { "/ro": dir, "/rw": { path: dir, writable: true } } });
  mp.runPython(`
import os, sys, errno
print(open('/ro/in.txt').read(), sorted(os.listdir('/ro')), sorted(os.listdir('/'))[-2:])
sys.path.append('/ro')
import mod
print(mod.WHERE)
for code in ["open('/ro/new.txt', 'w')", "os.remove('/ro/in.txt')", "os.mkdir('/ro/d')"]:
    try:
        exec(code)
    except OSError as e:
        print(errno.errorcode[e.errno])
with open('/rw/out.txt', 'w') as f:
    f.write('written by python')
os.mkdir('/rw/made')
# A path cannot climb out of its mount.
for path in ['/ro/../secret.txt', '/rw/../../secret.txt']:
    try:
        open(path)
    except OSError as e:
        print(errno.errorcode[e.errno])
`);
  assert.deepEqual(stdout, [
    "from the host ['in.txt', 'mod.py'] ['ro', 'rw']",
    "host folder",
    "EROFS",
    "EROFS",
    "EROFS",
    "ENOENT",
    "ENOENT",
  ]);
  assert.equal(readFileSync(join(dir, "out.txt"), "utf8"), "written by python");
  assert.ok(existsSync(join(dir, "made")));
  assert.equal(mp.fs.readFile("/rw/out.txt", "utf8"), "written by python");
  assert.equal(thrown(() => mp.fs.writeFile("/ro/x", "y")).code, "EROFS");
  assert.equal(thrown(() => mp.fs.rename("/rw/out.txt", "/elsewhere.txt")).code, "EXDEV");
  await assert.rejects(loadMicroPython({ mounts: { "/x": join(dir, "in.txt") } }), /not a folder/);
});

test("the Worker runner has the same files, with async mp.fs", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mpwasm-worker-mount-"));
  writeFileSync(join(dir, "in.txt"), "host text");
  const stdout = [];
  const py = await loadMicroPythonWorker({ stdout: (line) => stdout.push(line), fsLimit: 100, mounts: { "/host": dir } });
  t.after(() => py.terminate());
  await py.fs.writeFile("/lib/util.py", "def twice(x):\n    return 2 * x\n");
  await py.runPython("import util\nprint(util.twice(21), open('/host/in.txt').read())\nopen('/o.txt', 'w').write('ok')");
  assert.deepEqual(stdout, ["42 host text"]);
  assert.equal(await py.fs.readFile("/o.txt", { encoding: "utf8" }), "ok");
  assert.deepEqual((await py.fs.readdir("/")).sort(), ["host", "lib", "o.txt"]);
  const error = await py.fs.writeFile("/big", "x".repeat(200)).catch((e) => e);
  assert.equal(error.code, "ENOSPC", "an fs error does not stop the worker");
  assert.equal(await py.evalPython("open('/o.txt').read()"), "ok");
  assert.ok((await py.runPython("open('/missing')").catch((e) => e)) instanceof PythonError);
});
