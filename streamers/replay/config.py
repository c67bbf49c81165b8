"""The replay venue's options: one source (a file or a lake day), a speed, and whether times
are kept as recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from streamers.config import StreamerConfigError


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
    keep_time: bool = False

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
