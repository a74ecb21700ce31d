"""What a run returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunResult:
    """The guest's output (UTF-8, invalid bytes replaced) and the fuel it left."""

    stdout: str
    stderr: str
    fuel_remaining: int
