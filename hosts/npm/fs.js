// Files for Python: an in-memory tree at "/" (plus, in Node, host folders
// mounted into it), reached both through WASI (Python's open(), os, import)
// and through `mp.fs` in JavaScript.
//
// A store holds paths normalised to "" (its root) or "/a/b" and throws
// error codes as Node's fs names them ("ENOENT"); the WASI layer turns them
// into WASI errno values, `mp.fs` into Errors with that `code`.

// WASI errno values by code; any other code becomes EIO.
const ERRNO = { EACCES: 2, EBADF: 8, EBUSY: 10, EEXIST: 20, EINVAL: 28, EISDIR: 31, ENOENT: 44, ENOSPC: 51, ENOTDIR: 54, ENOTEMPTY: 55, EPERM: 63, EROFS: 69, EXDEV: 75 };

const encoder = new TextEncoder();
export const fail = (code) => {
  throw code;
};

// The error code a store threw, or the error itself if it is anything else
// (an output limit, a bug), which must travel on.
export function errorCode(error) {
  const code = error?.code ?? error;
  if (typeof code !== "string") throw error;
  return code;
}
export const errno = (error) => ERRNO[errorCode(error)] ?? 29;

export const normalise = (path) => {
  const parts = [];
  for (const part of String(path).split("/")) part === ".." ? parts.pop() : part && part !== "." && parts.push(part);
  return parts.map((part) => "/" + part).join("");
};

const bytesOf = (data) =>
  typeof data === "string" ? encoder.encode(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

// The in-memory store: a Map from path to { data, size, mtime } for a file
// or { size: 0, mtime } for a directory. At most `limit` bytes of file
// content in all; a write past it fails with ENOSPC.
function memoryStore(limit) {
  // /lib is on sys.path: modules written there can be imported.
  const nodes = new Map(["", "/lib"].map((path) => [path, { size: 0, mtime: Date.now() }]));
  const get = (path) => nodes.get(path) ?? fail("ENOENT");
  const children = (path) => [...nodes.keys()].filter((key) => key.startsWith(path + "/") && !key.includes("/", path.length + 1));
  const inDirectory = (path) => get(path.slice(0, path.lastIndexOf("/"))).data && fail("ENOTDIR");
  const used = () => [...nodes.values()].reduce((sum, node) => sum + node.size, 0);
  const add = (path, node) => (inDirectory(path), nodes.set(path, node), node);
  return {
    stat: (path) => ({ dir: !get(path).data, size: get(path).size, mtime: get(path).mtime }),
    readdir: (path) => (get(path).data && fail("ENOTDIR"), children(path).map((key) => [key.slice(path.length + 1), !nodes.get(key).data])),
    mkdir: (path) => (nodes.has(path) ? fail("EEXIST") : add(path, { size: 0, mtime: Date.now() })),
    rmdir(path) {
      if (get(path).data) fail("ENOTDIR");
      if (children(path).length) fail("ENOTEMPTY");
      path ? nodes.delete(path) : fail("EBUSY");
    },
    unlink: (path) => (get(path).data ? nodes.delete(path) : fail("EISDIR")),
    rename(from, to) {
      const node = get(from);
      const old = nodes.get(to);
      if (to.startsWith(from + "/")) fail("EINVAL");
      if (old && !old.data !== !node.data) fail(old.data ? "ENOTDIR" : "EISDIR");
      if (old && !old.data && children(to).length) fail("ENOTEMPTY");
      inDirectory(to);
      for (const [key, value] of [...nodes]) {
        if (key === from || key.startsWith(from + "/")) nodes.delete(key), nodes.set(to + key.slice(from.length), value);
      }
    },
    // A handle on the file's node: writes land in the tree at once, so
    // mp.fs sees a file Python has not closed yet.
    open(path, { create, exclusive, truncate }) {
      let node = nodes.get(path);
      if (node && exclusive) fail("EEXIST");
      node ??= create ? add(path, { data: new Uint8Array(0), size: 0, mtime: Date.now() }) : fail("ENOENT");
      if (!node.data) fail("EISDIR");
      if (truncate) Object.assign(node, { data: new Uint8Array(0), size: 0, mtime: Date.now() });
      return {
        size: () => node.size,
        read(into, at) {
          const part = node.data.subarray(at, node.size).subarray(0, into.length);
          into.set(part);
          return part.length;
        },
        write(bytes, at) {
          const end = at + bytes.length;
          if (end > node.size) {
            if (used() + end - node.size > limit) fail({ code: "ENOSPC", message: `files would take more than fsLimit, ${limit} bytes` });
            if (end > node.data.length) {
              const grown = new Uint8Array(Math.max(end, 2 * node.data.length));
              grown.set(node.data);
              node.data = grown;
            }
            node.size = end;
          }
          node.data.set(bytes, at);
          node.mtime = Date.now();
          return bytes.length;
        },
      };
    },
  };
}

// What mp.fs.stat returns. Its methods are on the prototype so that it
// crosses postMessage (as plain data) from a Worker runner.
class Stats {
  constructor(size, mtimeMs, directory) {
    Object.assign(this, { size, mtimeMs, directory });
  }
  isFile() {
    return !this.directory;
  }
  isDirectory() {
    return this.directory;
  }
}

// `path` and the directories above it, as `mkdir -p`.
function makeDirectories(store, path) {
  let at = "";
  for (const part of path.split("/").slice(1)) {
    try {
      store.mkdir((at += "/" + part));
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
  }
}

// The method names of `mp.fs`, also those a Worker runner forwards.
export const FS_METHODS = ["writeFile", "readFile", "mkdir", "readdir", "unlink", "rmdir", "rename", "stat", "exists"];

// The file system of one interpreter: the memory store at "/" and the
// `mounts` ({ "/data": store }) over it. Survives reset().
export function fileSystem({ fsLimit = 1 << 26, mounts = {} }) {
  if (!(fsLimit >= 0)) throw new RangeError(`fsLimit must be a number of bytes, not ${fsLimit}`);
  const root = memoryStore(fsLimit);
  const points = Object.entries(mounts)
    .map(([at, store]) => [normalise(at), store])
    .sort(([a], [b]) => b.length - a.length);
  // Mount points show up in their parent's listing.
  for (const [at, store] of points) {
    if (!store?.stat) throw new Error(`mounting a folder at ${at} needs Node`);
    makeDirectories(root, at);
  }
  // Store and path of an absolute path.
  const locate = (path) => {
    path = normalise(path);
    for (const [at, store] of points) if (path === at || path.startsWith(at + "/")) return [store, path.slice(at.length)];
    return [root, path];
  };
  // Runs `body(store, path)`, turning a store's error code into an Error as Node's fs throws.
  const on = (name, path, body) => {
    try {
      return body(...locate(path));
    } catch (error) {
      const code = errorCode(error);
      throw Object.assign(new Error(`${code}: ${name} '${path}'${error.message ? ": " + error.message : ""}`), { code });
    }
  };
  const readAll = (file) => {
    const data = new Uint8Array(file.size());
    for (let at = 0, got; at < data.length && (got = file.read(data.subarray(at), at)); at += got);
    return data;
  };
  const api = {
    writeFile: (path, data) =>
      on("writeFile", path, (store, at) => {
        const file = store.open(at, { create: true, truncate: true, write: true });
        try {
          file.write(bytesOf(data), 0);
        } finally {
          file.close?.();
        }
      }),
    readFile: (path, options) =>
      on("readFile", path, (store, at) => {
        const file = store.open(at, {});
        const encoding = typeof options === "string" ? options : options?.encoding;
        try {
          return encoding ? new TextDecoder(encoding).decode(readAll(file)) : readAll(file);
        } finally {
          file.close?.();
        }
      }),
    mkdir: (path, options) =>
      on("mkdir", path, (store, at) => void (options?.recursive ? makeDirectories(store, at) : store.mkdir(at))),
    readdir: (path) => on("readdir", path, (store, at) => store.readdir(at).map(([name]) => name)),
    unlink: (path) => on("unlink", path, (store, at) => void store.unlink(at)),
    rmdir: (path) => on("rmdir", path, (store, at) => void store.rmdir(at)),
    rename: (from, to) =>
      on("rename", from, (store, at) => {
        const [target, path] = locate(to);
        target === store ? store.rename(at, path) : fail("EXDEV");
      }),
    stat: (path) =>
      on("stat", path, (store, at) => {
        const { dir, size, mtime } = store.stat(at);
        return new Stats(size, mtime, dir);
      }),
    exists(path) {
      try {
        return !!api.stat(path);
      } catch (error) {
        if (!error.code) throw error;
        return false;
      }
    },
  };
  return { root, points, locate, api };
}
