"""How far a replay got: its clock (the exchange time of the last event sent), the share done and
an ETA, shown as a rich progress bar on a terminal and as plain lines in a pipe or a log."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

# A pipe gets a line this often (and one at the end); a terminal's bar redraws by itself.
LINE_EVERY_SECONDS = 5.0


def _clock_text(ns: int | None) -> str:
    if ns is None:
        return "--"
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True)
class ReplayProgress:
    """A replay at one moment. `first_ns`/`last_ns` are the source's first and last exchange
    times when known; `active_seconds` is the wall time spent replaying, pauses left out."""

    replay_id: str
    speed: float
    done: int = 0
    total: int | None = None
    clock_ns: int | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    active_seconds: float = 0.0
    state: str = "running"

    @property
    def fraction(self) -> float | None:
        """The share replayed: by the replay clock within the source's span when both are known,
        else by events. 1.0 once finished."""
        if self.state == "finished":
            return 1.0
        clock, first, last = self.clock_ns, self.first_ns, self.last_ns
        if clock is not None and first is not None and last is not None and last != first:
            return min(1.0, max(0.0, (clock - first) / (last - first)))
        if self.total:
            return min(1.0, self.done / self.total)
        return None

    @property
    def eta_seconds(self) -> float | None:
        """Wall seconds left: at a set speed, the source's time left divided by the speed; as fast
        as possible, the pace so far carried on."""
        if self.state == "finished":
            return 0.0
        if self.speed > 0 and self.last_ns is not None and self.clock_ns is not None:
            return max(0.0, (self.last_ns - self.clock_ns) / 1e9 / self.speed)
        fraction = self.fraction
        if not fraction or self.active_seconds <= 0:
            return None
        return self.active_seconds * (1 - fraction) / fraction

    def line(self) -> str:
        fraction = self.fraction
        share = "--" if fraction is None else f"{fraction * 100:5.1f}%"
        speed = "max" if self.speed == 0 else f"{self.speed:g}x"
        return (
            f"replay {self.replay_id} {self.state}: clock {_clock_text(self.clock_ns)}  {share}"
            f"  {self.done:,} events  speed {speed}  ETA {_duration_text(self.eta_seconds)}"
        )


class ReplayProgressView:
    """Shows progress: a rich bar when `stream` is a terminal, plain lines otherwise."""

    def __init__(self, *, stream: IO[str] | None = None, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._last_line = 0.0
        self._last_state: str | None = None

    def update(self, progress: ReplayProgress, *, final: bool = False) -> None:
        if self.interactive:
            self._draw(progress)
        elif final or progress.state != (self._last_state or progress.state) or self._due():
            self.stream.write(progress.line() + "\n")
            self.stream.flush()
        self._last_state = progress.state

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self._last_line < LINE_EVERY_SECONDS:
            return False
        self._last_line = now
        return True

    def _draw(self, progress: ReplayProgress) -> None:
        if self._bar is None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[detail]}"),
                console=Console(file=self.stream),
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=1000, detail="")
        fraction = progress.fraction
        self._bar.update(
            self._task or TaskID(0),
            description=f"replay {progress.replay_id} {progress.state} · {_clock_text(progress.clock_ns)}",
            completed=None if fraction is None else round(fraction * 1000),
            detail=f"{progress.done:,} events · ETA {_duration_text(progress.eta_seconds)}",
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
