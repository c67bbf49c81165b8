"""The replay venue's options: one source (a file or a lake day), a speed, and the sandbox it
writes into (its id, whether it starts paused, how long it is kept)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from apps.core import keys
from streamers.config import StreamerConfigError

DEFAULT_EXPIRE_HOURS = 24.0


def replay_id_default(*, day: date | None, file: Path | None, symbols: tuple[str, ...] | None) -> str:
    """`2026-11-20-es-1a2b`: the source, the symbols and four random hex digits, so two replays of
    one day never share a sandbox."""
    source = day.isoformat() if day is not None else (file.stem if file is not None else "replay")
    parts = [source, *(symbol.lower() for symbol in symbols or ())]
    stem = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")[:40].strip("-") or "replay"
    return f"{stem}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class ReplayConfig:
    # A JSON-lines file (`run_streamer simulator --record`, or a spill of var/spill/)...
    file: Path | None = None
    # ...or a UTC day of the lake, for `symbols` (as given: ES means that day's lead contract)
    # or every symbol stored that day.
    date: date | None = None
    symbols: tuple[str, ...] | None = None
    # 1 = real time, 10 = ten times faster, 0 = as fast as possible.
    speed: float = 1.0
    # The sandbox: its id (default: made from the source), whether it waits for `manage.py replay
    # resume ID` before the first event, and how long its keys live after the last write (None: kept).
    replay_id: str | None = None
    paused: bool = False
    expire_hours: float | None = DEFAULT_EXPIRE_HOURS
    # Recovery of spilled batches only: write a file's events into the live store, as recorded.
    into_live: bool = False

    def __post_init__(self) -> None:
        if self.file is not None and self.date is not None:
            raise StreamerConfigError("give the replay streamer one source: --file PATH or --date YYYY-MM-DD, not both")
        if self.file is None and self.date is None:
            raise StreamerConfigError(
                "the replay streamer needs --date YYYY-MM-DD (a day of the lake) or --file PATH "
                "(a file written with run_streamer simulator --record)"
            )
        if not self.speed >= 0:
            raise StreamerConfigError(f"--speed must be 0 (as fast as possible) or more, not {self.speed:g}")
        if self.replay_id is not None:
            try:
                keys.replay_id_check(self.replay_id)
            except keys.ReplayIdError as error:
                raise StreamerConfigError(f"--replay-id: {error}") from None
        if self.expire_hours is not None and not self.expire_hours > 0:
            raise StreamerConfigError(
                f"--expire-hours must be more than 0, not {self.expire_hours:g} (--keep keeps the replay)"
            )
        if self.into_live:
            if self.file is None:
                raise StreamerConfigError("--into-live takes a --file (a spilled batch), never a lake day")
            if self.replay_id is not None or self.paused:
                raise StreamerConfigError("--into-live writes no sandbox: leave out --replay-id and --paused")

    @property
    def expire_seconds(self) -> int | None:
        return None if self.expire_hours is None else max(1, round(self.expire_hours * 3600))
