"""The feeds `manage.py run_streamer NAME` can start, and each one's default metrics port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamers.feed import FeedClient


@dataclass(frozen=True)
class StreamerEntry:
    name: str
    metrics_port: int
    build: Callable[[dict[str, Any]], FeedClient]
    help: str


def _simulator(options: dict[str, Any]) -> FeedClient:
    from streamers.simulator.client import SimulatorClient

    return SimulatorClient(
        seed=options["seed"], rate=options["rate"], url=options.get("url"), sessions=not options.get("always_open")
    )


def _replay(options: dict[str, Any]) -> FeedClient:
    from streamers.replay.client import ReplayClient

    if not options.get("file"):
        raise ValueError("the replay streamer needs --file PATH (a file written with run_streamer simulator --record)")
    return ReplayClient(path=Path(options["file"]), speed=options["speed"], keep_time=options["keep_time"])


STREAMERS: dict[str, StreamerEntry] = {
    entry.name: entry
    for entry in [
        StreamerEntry("simulator", 9101, _simulator, "realistic ES and NQ trades, quotes and a 10-level book"),
        StreamerEntry("replay", 9102, _replay, "recorded events replayed at N x speed"),
    ]
}
