"""`manage.py run_streamer` as a process: metrics on its own port, SIGTERM writes out the
buffer and exits cleanly, and a recorded session replays."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import msgspec
import pytest

from apps.core import keys
from apps.core.embedded_redis import free_port
from apps.core.redis import get_redis
from apps.marketdata.events import Trade, decode_json
from apps.marketdata.selectors import streamer_status, trades_last
from tests.conftest import ProcessGroup

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def wait_for(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.1)


def run_streamer(processes: ProcessGroup, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`manage.py run_streamer` logging to `<name>.log`; stopped when the test ends, even failed."""
    return processes.start(name, [sys.executable, "manage.py", "run_streamer", *args], env)


def metrics_text(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read().decode()
    except OSError:
        return ""


def test_sigterm_writes_every_buffered_event_and_a_recording_replays(
    processes: ProcessGroup, process_env: dict[str, str], tmp_path: Path
) -> None:
    record = tmp_path / "session.jsonl"
    port = free_port()
    streamer = run_streamer(
        processes,
        "simulator",
        [
            "simulator",
            "--symbols",
            "ESZ26",
            "--rate",
            "300",
            "--always-open",
            "--metrics-port",
            str(port),
            "--record",
            str(record),
        ],
        process_env,
    )
    wait_for(
        lambda: (
            "pipeline_streamer_events_written_total" in metrics_text(port)
            and len(trades_last(symbol="ESZ26", count=500)) >= 500
        )
    )
    assert 'pipeline_streamer_connected{feed="simulator"} 1.0' in metrics_text(port)
    streamer.send_signal(signal.SIGTERM)
    assert streamer.wait(timeout=30) == 0, (tmp_path / "simulator.log").read_text()

    recorded = [decode_json(line) for line in record.read_bytes().splitlines()]
    recorded_trades = [event for event in recorded if isinstance(event, Trade)]
    stored = trades_last(symbol="ESZ26", count=10_000)
    assert [item.trade.seq for item in stored] == [event.seq for event in recorded_trades]
    assert streamer_status(name="simulator")["state"] == "stopped"

    live_before = get_redis().xrange(keys.trades("ESZ26"))
    replay = run_streamer(
        processes,
        "replay",
        ["replay", "--file", str(record), "--speed", "0", "--metrics-port", "0", "--replay-id", "rec-1"],
        process_env,
    )
    assert replay.wait(timeout=60) == 0, (tmp_path / "replay.log").read_text()
    sandbox = keys.KeySpace.replay("rec-1")
    status = streamer_status(name="replay", keyspace=sandbox)
    assert status["state"] == "stopped"
    assert int(status["events_written"]) == len(recorded)
    assert streamer_status(name="replay") == {}, "the replay's status stays in its sandbox"
    replayed = trades_last(symbol="ESZ26", count=20_000, keyspace=sandbox)
    # The recorded session again, as it happened: same exchange times, same feed.
    assert [item.trade for item in replayed] == [
        msgspec.structs.replace(item.trade, ts_recv=replayed_item.trade.ts_recv)
        for item, replayed_item in zip(stored, replayed, strict=True)
    ]
    assert get_redis().xrange(keys.trades("ESZ26")) == live_before, "the live stream is untouched"
    log = (tmp_path / "replay.log").read_text()
    assert "replay rec-1: its own sandbox" in log
    assert "replay rec-1 finished: clock " in log, "a pipe gets plain progress lines"


def test_an_unknown_streamer_is_refused_with_the_choices(process_env: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "run_streamer", "bloomberg"],
        cwd=ROOT,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "unknown streamer 'bloomberg'; available: simulator, replay" in result.stderr


def test_list_names_every_feed_with_what_it_needs_and_whether_it_runs_here() -> None:
    from io import StringIO

    from django.core.management import call_command

    from streamers.registry import VENUES

    out = StringIO()
    call_command("run_streamer", "list", stdout=out)
    text = out.getvalue()
    for name, venue in VENUES.items():
        block = text.split(f"{name}\n", 1)[1]
        assert f"  needs:     {venue.needs}" in block
        assert f"run_streamer {name} --help" in block
    assert "runs here: yes" in text.split("replay\n")[0]  # the simulator: make run starts it
    assert "runs here: no (start it by hand)" in text.split("replay\n")[1]
