"""The ``micropython-wasm`` command and ``cli.main``'s injection points."""

from __future__ import annotations

import io
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from micropython_wasm import MicroPythonWasmError, RunResult
from micropython_wasm.cli import main

SCRIPT = Path(sysconfig.get_path("scripts")) / "micropython-wasm"


def command(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_console_script_runs_code() -> None:
    result = command("-c", "print(1 + 1)")
    assert (result.returncode, result.stdout, result.stderr) == (0, "2\n", "")


def test_python_dash_m() -> None:
    result = subprocess.run([sys.executable, "-m", "micropython_wasm", "-c", "print('m')"], capture_output=True, text=True)
    assert result.stdout == "m\n"


def test_file(tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('from a file', sys.argv)\n")
    result = command(str(script))
    assert (result.returncode, result.stdout) == (0, "from a file ['-c']\n")


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.py"
    result = command(str(missing))
    assert result.returncode == 1
    assert result.stderr.startswith("micropython-wasm: ")
    assert str(missing) in result.stderr
    folder = command(str(tmp_path))
    assert folder.returncode == 1 and str(tmp_path) in folder.stderr


def test_guest_failure_prints_its_traceback_then_the_reason() -> None:
    result = command("-c", "print('partial')\n1/0")
    assert result.returncode == 1
    assert result.stdout == "partial\n"
    assert "ZeroDivisionError" in result.stderr
    assert result.stderr.endswith("micropython-wasm: guest exited with code 1\n")


@pytest.mark.parametrize(
    "args",
    [["-c", "1", "file.py"], ["--memory", "0", "-c", "1"], ["--fuel", "-1", "-c", "1"], ["--fuel", "x", "-c", "1"],
     ["--timeout", "0", "-c", "1"], ["--no-such-flag"]],
)
def test_usage_errors_exit_2(args: list) -> None:
    result = command(*args)
    assert result.returncode == 2
    assert "usage: micropython-wasm" in result.stderr


def test_limits_from_flags() -> None:
    result = command("--fuel", "100000", "-c", "while True: pass")
    assert result.returncode == 1
    assert "micropython-wasm: guest trapped: out of fuel" in result.stderr
    slow = command("--fuel", "1000000000000", "--timeout", "0.3", "-c", "while True: pass")
    assert "guest trapped: wall clock timeout" in slow.stderr


def test_repl() -> None:
    result = command(stdin="x = 20\nx + 22\ndef f():\n    return 'in f'\n\nf()\nNone\n1/0\nprint('still', x)\nexit()\nprint('not run')\n")
    assert result.returncode == 0
    # As in 0.1a2, a statement ends when CPython's codeop says it is
    # complete; the blank line after it is an empty input of its own.
    assert result.stdout == ">>> >>> 42\n>>> ... >>> >>> 'in f'\n>>> >>> >>> still 20\n>>> "
    assert result.stderr == "ZeroDivisionError: divide by zero\n"


def test_repl_ends_at_eof() -> None:
    result = command(stdin="print('a')\n")
    assert (result.returncode, result.stdout) == (0, ">>> a\n>>> ")


def test_main_uses_the_injected_execute() -> None:
    calls = []

    def execute(code: str, **limits: object) -> RunResult:
        calls.append((code, limits))
        return RunResult(stdout="out\n", stderr="err\n", fuel_remaining=1)

    stdout, stderr = io.StringIO(), io.StringIO()
    status = main(["--memory", "1234", "--fuel", "99", "-c", "code"], stdout=stdout, stderr=stderr, execute=execute)
    assert status == 0
    assert calls == [("code", {"memory_bytes": 1234, "fuel": 99})]
    assert (stdout.getvalue(), stderr.getvalue()) == ("out\n", "err\n")


def test_main_reports_errors_from_execute() -> None:
    def execute(code: str, **limits: object) -> RunResult:
        raise MicroPythonWasmError("boom")

    stderr = io.StringIO()
    assert main(["-c", "x"], stdout=io.StringIO(), stderr=stderr, execute=execute) == 1
    assert stderr.getvalue() == "micropython-wasm: boom\n"


def test_main_uses_the_injected_session_factory() -> None:
    made = []

    class FakeSession:
        def __init__(self, **limits: object) -> None:
            made.append(limits)
            self.runs: list = []
            self.closed = False

        def run(self, code: str) -> RunResult:
            self.runs.append(code)
            return RunResult(stdout="ran\n", stderr="", fuel_remaining=0)

        def close(self) -> None:
            self.closed = True

    stdout = io.StringIO()
    status = main([], stdin=io.StringIO("a = 1\n"), stdout=stdout, stderr=io.StringIO(), session_factory=FakeSession)
    assert status == 0
    assert made == [{"memory_bytes": 16 * 1024 * 1024, "fuel": 20_000_000}]
    assert stdout.getvalue() == ">>> ran\n>>> "
