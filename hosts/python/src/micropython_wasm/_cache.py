"""Compiled modules: compiled once per process, and kept on disk between
processes so that a fresh process starts in milliseconds.

An entry is keyed by the module's sha256, the installed wasmtime (its
native library) and the engine settings, and its file name also carries
a CRC-32 of the compiled code, checked before wasmtime maps the file:
machine code corrupted on disk would otherwise run (a flipped byte crashes
the process, or worse, does something else). Entries are written under a
temporary name and renamed into place, so a reader never sees half of one.
A corrupt, stale or unreadable entry is compiled afresh and replaced; a
cache folder that is missing, read-only or full only costs the compile.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
import zlib
from pathlib import Path
from typing import Dict, Optional, Tuple

import wasmtime
from wasmtime import _ffi

from . import _artifact
from ._engine import ENGINE_FINGERPRINT, engine

_lock = threading.Lock()
# (resolved path, size, mtime) -> (module sha256, module); a module edited
# in place gets a new entry.
_by_file: Dict[Tuple[str, int, int], Tuple[str, wasmtime.Module]] = {}
_by_digest: Dict[str, wasmtime.Module] = {}


def cache_dir() -> Optional[Path]:
    """``MICROPYTHON_WASM_CACHE_DIR`` (empty: no disk cache), else
    ``$XDG_CACHE_HOME/micropython-wasm`` or ``~/.cache/micropython-wasm``."""

    configured = os.environ.get("MICROPYTHON_WASM_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "micropython-wasm"
    try:
        return Path.home() / ".cache" / "micropython-wasm"
    except RuntimeError:
        return None


def compiled(wasm_path: Path) -> Tuple[str, wasmtime.Module]:
    """The module at ``wasm_path`` compiled for the shared engine, with its sha256."""

    stat = wasm_path.stat()
    file_key = (str(wasm_path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        known = _by_file.get(file_key)
        if known is not None:
            return known
        wasm = wasm_path.read_bytes()
        digest = _sha256(wasm)
        module = _by_digest.get(digest)
        if module is None:
            module = _load_or_compile(wasm, digest)
            _by_digest[digest] = module
        _by_file[file_key] = (digest, module)
        return digest, module


def _sha256(wasm: bytes) -> str:
    """The module's sha256. The packaged module's was recorded when the
    package was built: a CRC-32 and the size confirm it is that module,
    and spare a process that only runs it the cost of loading OpenSSL."""

    if len(wasm) == _artifact.SIZE and zlib.crc32(wasm) == _artifact.CRC32:
        return _artifact.SHA256
    import hashlib

    return hashlib.sha256(wasm).hexdigest()


def _crc(data: "bytes | mmap.mmap | str") -> str:
    return f"{zlib.crc32(data.encode() if isinstance(data, str) else data):08x}"


def _entry_prefix(digest: str) -> str:
    """The name every entry for this module, wasmtime and engine starts with."""

    library = Path(_ffi.filename).stat()
    runtime = f"{library.st_size}:{library.st_mtime_ns}:{ENGINE_FINGERPRINT}"
    return f"{digest[:40]}-{_crc(runtime)}-"


def _load_or_compile(wasm: bytes, digest: str) -> wasmtime.Module:
    folder = cache_dir()
    if folder is None:
        return wasmtime.Module(engine(), wasm)
    prefix = _entry_prefix(digest)
    stale = []
    try:
        entries = sorted(folder.glob(f"{prefix}*.cwasm"))
    except OSError:
        entries = []
    for entry in entries:
        module = _load(entry, entry.name[len(prefix) : -len(".cwasm")])
        if module is not None:
            return module
        stale.append(entry)
    module = wasmtime.Module(engine(), wasm)
    written = _store(folder, prefix, module)
    for entry in stale:
        if entry != written:
            try:
                entry.unlink()
            except OSError:
                pass
    return module


def _load(entry: Path, code_digest: str) -> Optional[wasmtime.Module]:
    """The entry's module, or None if it is unreadable, does not match its
    checksum, or is from another wasmtime (wasmtime checks that itself)."""

    try:
        with open(entry, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as code:
            if _crc(code) != code_digest:
                return None
    except (OSError, ValueError):
        return None
    try:
        # wasmtime maps the file itself, several times faster than loading
        # it from bytes; a file of this name only ever has these contents,
        # as entries are created whole under their final name.
        return wasmtime.Module.deserialize_file(engine(), str(entry))
    except wasmtime.WasmtimeError:
        return None


def _store(folder: Path, prefix: str, module: wasmtime.Module) -> Optional[Path]:
    """Writes an entry under a temporary name and renames it into place
    (replacing a corrupt one of the same name); returns its path, or None
    when the cache cannot be written, which leaves it as it was."""

    try:
        code = bytes(module.serialize())
        folder.mkdir(parents=True, exist_ok=True)
        entry = folder / f"{prefix}{_crc(code)}.cwasm"
        temp = folder / f".tmp-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}.partial"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(code)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, entry)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError:
        return None
    return entry
