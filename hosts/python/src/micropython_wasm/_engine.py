"""The process's one wasmtime engine and the epoch ticker that drives
wall-clock limits.

Compiled code is tied to the engine's settings, so every interpreter in the
process shares one engine with fuel metering, epoch interruption and
exception handling on: the module is compiled (or loaded from the disk
cache) once per process, whatever the limits of each run.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

import wasmtime

#: How deep the guest's WebAssembly frames may go. MicroPython stops deep
#: recursion by measuring its shadow stack in linear memory (128 KiB), and
#: Cranelift's native frames take up to eight times that: with wasmtime's
#: 512 KiB default, deep recursion trapped instead of raising RuntimeError.
#: Python threads get the platform's default stack (8 MiB with glibc), which
#: holds this with room for the host calls made at the deepest point.
WASM_STACK_BYTES = 2 << 20

#: How often the epoch advances while guest code runs: a wall-clock limit
#: or an output cap is noticed at most this late.
TICK_SECONDS = 0.005

#: The engine settings that change the compiled code, for the cache key.
ENGINE_FINGERPRINT = f"fuel+epoch+exceptions+stack{WASM_STACK_BYTES}"

_engine_lock = threading.Lock()
_engine: Optional[wasmtime.Engine] = None


def engine() -> wasmtime.Engine:
    """The shared engine, made on first use."""

    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                config = wasmtime.Config()
                config.consume_fuel = True
                config.epoch_interruption = True
                config.wasm_exceptions = True
                config.max_wasm_stack = WASM_STACK_BYTES
                _engine = wasmtime.Engine(config)
    return _engine


class _Ticker:
    """Advances the engine's epoch every tick while guest code with a
    deadline runs.

    A thread that sleeps on a condition when no such code runs, so an idle
    process pays nothing, and the first run to arrive wakes it.
    """

    def __init__(self) -> None:
        self._active = 0
        self._changed = threading.Condition()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "_Ticker":
        with self._changed:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="micropython-wasm-epoch", daemon=True)
                self._thread.start()
            if self._active == 1:
                self._changed.notify()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._changed:
            self._active -= 1

    def _run(self) -> None:
        shared = engine()
        while True:
            with self._changed:
                while self._active == 0:
                    self._changed.wait()
            time.sleep(TICK_SECONDS)
            shared.increment_epoch()


ticker = _Ticker()
