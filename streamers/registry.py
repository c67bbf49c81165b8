"""The feeds `manage.py run_streamer NAME` can start, and each one's default metrics port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
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

    common = {"speed": options["speed"], "keep_time": options["keep_time"]}
    if options.get("file") and options.get("date"):
        raise ValueError("give the replay streamer one source: --file PATH or --date YYYY-MM-DD, not both")
    if options.get("file"):
        return ReplayClient(path=Path(options["file"]), **common)
    if options.get("date"):
        day, symbols = _lake_day(options)
        return ReplayClient(day=day, symbols=symbols, **common)
    raise ValueError(
        "the replay streamer needs --date YYYY-MM-DD (a day of the lake) or --file PATH "
        "(a file written with run_streamer simulator --record)"
    )


def _lake_day(options: dict[str, Any]) -> tuple[date, list[str] | None]:
    """The day and symbols to replay from the lake; refuses a day with nothing stored, naming
    the days that have data."""
    from django.conf import settings

    from apps.marketdata.symbols import canonical
    from apps.storage.replay import lake_day_counts, lake_days

    try:
        day = date.fromisoformat(options["date"])
    except ValueError:
        raise ValueError(f"--date {options['date']!r} is not a date (YYYY-MM-DD)") from None
    raw = [part.strip() for part in (options.get("symbols") or "").split(",") if part.strip()]
    # `ES` means the lead contract of the day replayed, not of today.
    noon = datetime.combine(day, time(12), tzinfo=UTC)
    symbols = sorted({canonical(symbol, at=noon) for symbol in raw}) or None
    if not lake_day_counts(day=day, symbols=symbols):
        stored = ", ".join(day.isoformat() for day in lake_days()[-10:]) or "none"
        wanted = f" for {', '.join(symbols)}" if symbols else ""
        raise ValueError(
            f"nothing stored in the lake ({settings.LAKE_DIR}) on {day.isoformat()}{wanted}; "
            f"days with data (latest 10): {stored}"
        )
    return day, symbols


STREAMERS: dict[str, StreamerEntry] = {
    entry.name: entry
    for entry in [
        StreamerEntry("simulator", 9101, _simulator, "realistic ES and NQ trades, quotes and a 10-level book"),
        StreamerEntry("replay", 9102, _replay, "a stored lake day or a recorded file, replayed at N x speed"),
    ]
}
