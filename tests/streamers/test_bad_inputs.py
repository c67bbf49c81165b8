"""`manage.py run_streamer` refuses an input that cannot work at once, with one line naming it
and a non-zero exit: no traceback, no endless retry, no exit 0 after dead-lettering a file."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apps.core.embedded_redis import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_streamer(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "run_streamer", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


def assert_refused(args: list[str], env: dict[str, str], expected: str) -> None:
    code, output, took = run_streamer(args, env)
    assert code != 0, output
    assert "Traceback" not in output, output
    assert expected in output, output
    lines = [line for line in output.splitlines() if line.startswith("CommandError")]
    assert len(lines) == 1, output
    assert took < 45


def test_a_replay_file_that_is_missing_unreadable_or_binary_is_refused_naming_it(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.jsonl"
    assert_refused(["replay", "--file", str(missing), "--metrics-port", "0"], process_env, f"{missing}: no such file")
    assert_refused(["replay", "--file", str(tmp_path), "--metrics-port", "0"], process_env, "not a regular file")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(bytes(range(256)) * 64)
    assert_refused(["replay", "--file", str(binary), "--metrics-port", "0"], process_env, f"{binary}: a binary file")
    text = tmp_path / "notes.jsonl"
    text.write_text("these are notes, not events\n")
    assert_refused(
        ["replay", "--file", str(text), "--metrics-port", "0"], process_env, "first line is not a JSON event"
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert_refused(["replay", "--file", str(empty), "--metrics-port", "0"], process_env, f"{empty}: empty")


def test_a_bad_symbol_is_refused_in_one_line(process_env: dict[str, str]) -> None:
    assert_refused(
        ["simulator", "--symbols", "../x", "--metrics-port", "0"],
        process_env,
        "--symbols: '../X' is not a futures contract symbol",
    )


def test_a_metrics_port_in_use_is_refused_in_one_line(process_env: dict[str, str]) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert_refused(
            ["simulator", "--always-open", "--metrics-port", str(port)],
            process_env,
            f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}",
        )
