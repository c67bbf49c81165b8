"""`run_streamer replay`: its options, its config, its client."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from streamers.config import StreamerConfigError
from streamers.feed import FeedClient
from streamers.replay.config import ReplayConfig
from streamers.venue import Venue


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--date",
        help="replay this UTC day of the lake (YYYY-MM-DD); --symbols picks some (ES: that day's lead contract)",
    )
    parser.add_argument("--file", help="or replay this JSON-lines file (run_streamer simulator --record)")
    parser.add_argument(
        "--speed",
        type=float,
        default=ReplayConfig.speed,
        help="1 = real time, 10 = ten times faster, 0 = as fast as possible",
    )
    parser.add_argument("--keep-time", action="store_true", help="keep recorded times instead of shifting them to now")


def config_from_options(options: dict[str, Any]) -> ReplayConfig:
    day = None
    if options.get("date"):
        try:
            day = date.fromisoformat(options["date"])
        except ValueError:
            raise StreamerConfigError(f"--date {options['date']!r} is not a date (YYYY-MM-DD)") from None
    symbols = tuple(part.strip() for part in (options.get("symbols") or "").split(",") if part.strip())
    return ReplayConfig(
        file=Path(options["file"]) if options.get("file") else None,
        date=day,
        symbols=symbols or None,
        speed=options["speed"],
        keep_time=options["keep_time"],
    )


def client(config: ReplayConfig) -> FeedClient[Any]:
    from streamers.replay.client import ReplayClient

    if config.date is None:  # then the source is a file (the config holds exactly one)
        return ReplayClient(path=config.file, speed=config.speed, keep_time=config.keep_time)
    return ReplayClient(
        day=config.date,
        symbols=_lake_symbols(config.date, config.symbols),
        speed=config.speed,
        keep_time=config.keep_time,
    )


def _lake_symbols(day: date, given: tuple[str, ...] | None) -> list[str] | None:
    """The canonical symbols to replay from the lake; refuses a day with nothing stored, naming
    the days that have data."""
    from django.conf import settings

    from apps.marketdata.symbols import canonical
    from apps.storage.replay import lake_day_counts, lake_days

    # `ES` means the lead contract of the day replayed, not of today.
    noon = datetime.combine(day, time(12), tzinfo=UTC)
    symbols = sorted({canonical(symbol, at=noon) for symbol in given or ()}) or None
    if not lake_day_counts(day=day, symbols=symbols):
        stored = ", ".join(stored_day.isoformat() for stored_day in lake_days()[-10:]) or "none"
        wanted = f" for {', '.join(symbols)}" if symbols else ""
        raise StreamerConfigError(
            f"nothing stored in the lake ({settings.LAKE_DIR}) on {day.isoformat()}{wanted}; "
            f"days with data (latest 10): {stored}"
        )
    return symbols


VENUE = Venue(
    name="replay",
    help="a stored lake day or a recorded file, replayed at N x speed",
    metrics_port=9102,
    config=ReplayConfig,
    add_arguments=add_arguments,
    config_from_options=config_from_options,
    client=client,
)
