"""The simulator's and the replay's configs and options: frozen, validated at construction, an
error naming the option; each venue's `run_streamer NAME --help` shows its own options."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from streamers.config import StreamerConfigError
from streamers.registry import VENUES
from streamers.replay.client import ReplayClient
from streamers.replay.config import ReplayConfig
from streamers.simulator.client import SimulatorClient
from streamers.simulator.config import SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]


def options(**given: object) -> dict[str, object]:
    """What `run_streamer` hands a venue: its own options' defaults and the shared ones."""
    values: dict[str, object] = {
        "rate": 20.0, "seed": 7, "url": None, "always_open": False,
        "date": None, "file": None, "speed": 1.0, "symbols": None, "replay_id": None, "paused": False,
        "expire_hours": 24.0, "keep": False, "into_live": False,
    }  # fmt: skip
    values.update(given)
    return values


def test_the_simulator_config_comes_from_its_options_and_builds_its_client() -> None:
    venue = VENUES["simulator"]
    config = venue.config_from_options(options(rate=300.0, seed=3, url="ws://127.0.0.1:8765", always_open=True))
    assert config == SimulatorConfig(rate=300.0, seed=3, url="ws://127.0.0.1:8765", always_open=True)
    client = venue.client(config)
    assert isinstance(client, SimulatorClient)
    assert (client.rate, client.seed, client.url, client.sessions) == (300.0, 3, "ws://127.0.0.1:8765", False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rate = 1.0


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"rate": 0.0}, "--rate must be greater than 0, not 0"),
        ({"rate": -5.0}, "--rate must be greater than 0, not -5"),
        ({"url": "http://127.0.0.1:8765"}, "--url must be a WebSocket URL"),
    ],
)
def test_a_bad_simulator_option_is_refused_by_name(given: dict[str, object], message: str) -> None:
    with pytest.raises(StreamerConfigError, match=message):
        VENUES["simulator"].config_from_options(options(**given))


def test_the_replay_config_takes_one_source(tmp_path: Path) -> None:
    venue = VENUES["replay"]
    (tmp_path / "a.jsonl").write_text('{"type": "trade"}\n')
    config = venue.config_from_options(options(file=str(tmp_path / "a.jsonl"), speed=0.0, replay_id="r-1", keep=True))
    assert config == ReplayConfig(file=tmp_path / "a.jsonl", speed=0.0, replay_id="r-1", expire_hours=None)
    client = venue.client(config)
    assert isinstance(client, ReplayClient)
    assert (client.path, client.speed, client.replay_id) == (tmp_path / "a.jsonl", 0.0, "r-1")
    assert client.sandbox is not None
    assert client.sandbox.expire_seconds is None, "--keep: the sandbox never expires"
    default = venue.client(venue.config_from_options(options(file=str(tmp_path / "a.jsonl"))))
    assert isinstance(default, ReplayClient)
    assert default.sandbox is not None
    assert default.replay_id.startswith("a-"), "the default id names the source"
    assert default.sandbox.expire_seconds == 24 * 3600
    recovery = venue.client(venue.config_from_options(options(file=str(tmp_path / "a.jsonl"), into_live=True)))
    assert isinstance(recovery, ReplayClient)
    assert recovery.sandbox is None, "--into-live writes the live store: the recovery of spilled batches"
    day = venue.config_from_options(options(date="2026-11-20", symbols="ES, NQZ26"))
    assert (day.date, day.symbols) == (date(2026, 11, 20), ("ES", "NQZ26"))

    with pytest.raises(StreamerConfigError, match=r"needs --date YYYY-MM-DD .* or --file PATH"):
        ReplayConfig()
    with pytest.raises(StreamerConfigError, match="one source: --file PATH or --date YYYY-MM-DD, not both"):
        ReplayConfig(file=tmp_path / "a.jsonl", date=date(2026, 11, 20))
    with pytest.raises(StreamerConfigError, match=r"--speed must be 0 .* not -1"):
        ReplayConfig(file=tmp_path / "a.jsonl", speed=-1.0)
    with pytest.raises(StreamerConfigError, match="--date '2026-13-01' is not a date"):
        venue.config_from_options(options(date="2026-13-01"))
    with pytest.raises(StreamerConfigError, match=r"--replay-id: replay id 'Bad Id\}' is not valid"):
        ReplayConfig(file=tmp_path / "a.jsonl", replay_id="Bad Id}")
    with pytest.raises(StreamerConfigError, match="--into-live takes a --file"):
        ReplayConfig(date=date(2026, 11, 20), into_live=True)
    with pytest.raises(StreamerConfigError, match="--expire-hours must be more than 0"):
        ReplayConfig(file=tmp_path / "a.jsonl", expire_hours=0)


def help_text(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "run_streamer", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


@pytest.mark.slow
def test_each_venue_shows_its_own_options_in_its_help() -> None:
    overview = help_text("--help")
    assert "simulator" in overview
    assert "replay" in overview
    simulator = help_text("simulator", "--help")
    replay = help_text("replay", "--help")
    for shared in ("--symbols", "--metrics-port", "--batch-size", "--record"):
        assert shared in simulator
        assert shared in replay
    assert "--rate" in simulator
    assert "--date" not in simulator
    assert "--date" in replay
    assert "--rate" not in replay
