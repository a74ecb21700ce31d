"""Shared fixtures. The suite runs against the wheel installed in a fresh
virtual environment (tests/python_bundle.rs sets it up), never against the
source tree."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import micropython_wasm


def pytest_configure(config: pytest.Config) -> None:
    location = Path(micropython_wasm.__file__).resolve()
    if "site-packages" not in location.parts and not os.environ.get("MICROPYTHON_WASM_TEST_SOURCE_TREE"):
        raise pytest.UsageError(f"micropython_wasm was imported from {location}, not from an installed wheel")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's compiled-code cache is a folder of the test session."""

    folder = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("MICROPYTHON_WASM_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def python_env() -> dict:
    """The environment for a child Python process running the package."""

    return dict(os.environ)


PYTHON = sys.executable
