"""`run_streamer replay`: its options, its config, its client."""

from __future__ import annotations

import codecs
from argparse import ArgumentParser
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import msgspec

from streamers.config import StreamerConfigError
from streamers.feed import FeedClient
from streamers.replay.config import DEFAULT_EXPIRE_HOURS, ReplayConfig, replay_id_default
from streamers.replay.sandbox import ReplaySandbox
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
    parser.add_argument(
        "--replay-id",
        help="the sandbox's id (lower-case letters, digits, '-'); default: from the source, e.g. 2026-11-20-es-1a2b",
    )
    parser.add_argument("--paused", action="store_true", help="start paused: manage.py replay resume ID starts it")
    lifetime = parser.add_mutually_exclusive_group()
    lifetime.add_argument(
        "--expire-hours",
        type=float,
        default=DEFAULT_EXPIRE_HOURS,
        help=f"delete the sandbox this long after its last write (default {DEFAULT_EXPIRE_HOURS:g})",
    )
    lifetime.add_argument("--keep", action="store_true", help="keep the sandbox until manage.py replay delete ID")
    parser.add_argument(
        "--into-live",
        action="store_true",
        help="recovery of spilled batches (var/spill/): write the --file into the live store as recorded, no sandbox",
    )


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
        replay_id=options.get("replay_id"),
        paused=bool(options.get("paused")),
        expire_hours=None if options.get("keep") else options.get("expire_hours", DEFAULT_EXPIRE_HOURS),
        into_live=bool(options.get("into_live")),
    )


# How much of a replay file is looked at before starting: enough to see that it is text and
# that its first event is a JSON object.
_SNIFF_BYTES = 64 * 1024


def replay_file_check(path: Path) -> None:
    """Refuse, naming the file, one that is missing, unreadable or not JSON lines: the runner
    would otherwise retry a missing file forever, and dead-letter a binary one line by line."""
    if not path.exists():
        raise StreamerConfigError(f"--file {path}: no such file")
    if not path.is_file():
        raise StreamerConfigError(f"--file {path}: not a regular file")
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise StreamerConfigError(f"--file {path}: cannot be read ({error.strerror or error})") from None
    text = codecs.getincrementaldecoder("utf-8")()
    try:
        decoded = text.decode(head, final=len(head) < _SNIFF_BYTES)
    except UnicodeDecodeError:
        decoded = None
    if decoded is None or "\x00" in decoded:
        raise StreamerConfigError(f"--file {path}: a binary file, not JSON lines (run_streamer simulator --record)")
    first = next((line for line in decoded.splitlines() if line.strip()), None)
    if first is None:
        raise StreamerConfigError(f"--file {path}: empty, nothing to replay")
    try:
        event = msgspec.json.decode(first)
    except msgspec.DecodeError:
        event = None
    if not isinstance(event, dict):
        raise StreamerConfigError(f"--file {path}: the first line is not a JSON event: {first[:60]!r}")


def client(config: ReplayConfig) -> FeedClient[Any]:
    from django.conf import settings

    from streamers.replay.client import ReplayClient
    from streamers.replay.progress import ReplayProgressView

    if config.file is not None:  # then there is no date (the config holds exactly one source)
        replay_file_check(config.file)
        if config.into_live:
            return ReplayClient(path=config.file, speed=config.speed)
        symbols = list(config.symbols or ())
        total = None
    elif config.date is not None:
        symbols = _lake_symbols(config.date, config.symbols) or []
        total = sum(_lake_counts(config.date, symbols).values())
    else:
        raise StreamerConfigError("the replay streamer needs --date YYYY-MM-DD or --file PATH")
    replay_id = config.replay_id or replay_id_default(day=config.date, file=config.file, symbols=config.symbols)
    _replay_id_free(replay_id)
    sandbox = ReplaySandbox(
        redis_url=settings.REDIS_URL,
        replay_id=replay_id,
        expire_seconds=config.expire_seconds,
        start_paused=config.paused,
    )
    return ReplayClient(
        path=config.file,
        day=config.date,
        symbols=symbols or None,
        speed=config.speed,
        sandbox=sandbox,
        view=ReplayProgressView(),
        total=total,
    )


def _replay_id_free(replay_id: str) -> None:
    """Refuse, before anything starts, an id another replay uses (`open` claims it for good)."""
    from apps.marketdata.replays import replay_get

    if replay_get(replay_id=replay_id) is not None:
        raise StreamerConfigError(
            f"--replay-id {replay_id!r} is in use; delete it (manage.py replay delete {replay_id}) or pick another"
        )


def _lake_counts(day: date, symbols: list[str]) -> dict[str, int]:
    from apps.storage.replay import lake_day_counts

    return lake_day_counts(day=day, symbols=symbols or None)


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
    needs="a lake day (--date, as flushed or imported) or a recorded JSON-lines file (--file); runs on demand",
    configured=lambda: False,  # on demand: listed while a replay runs
)
