"""Replay client: recorded events sent again, paced by their exchange times.

Two sources, one wire form (JSON lines of normalized events, so both take the same parse):
a file written with `run_streamer simulator --record` (or spilled by a streamer), or a day of
the Parquet lake (`apps.storage.replay`), read in chunks on a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import IO

import msgspec

from apps.marketdata.events import DepthSnapshot, DepthUpdate, Event, Quote, Trade, decode_json, encode_json
from streamers.feed import ConnectionLostError, FeedExhaustedError, MalformedMessageError

LINES_PER_FRAME = 500
# While waiting for the next frame's time, an empty frame this often keeps the watchdog quiet.
HEARTBEAT_SECONDS = 0.25


class _FileFrames:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    @property
    def label(self) -> str:
        return str(self.path)

    async def open(self) -> None:
        if not self.path.is_file():
            raise ConnectionLostError(f"replay file {self.path} does not exist")
        if self._file is None:  # a reconnect resumes where the replay stood
            self._file = self.path.open("rb")

    async def next_lines(self) -> list[bytes]:
        if self._file is None:
            raise ConnectionLostError("not connected")
        lines = []
        for _ in range(LINES_PER_FRAME):
            line = self._file.readline()
            if not line:
                break
            lines.append(line)
        return lines


class _LakeFrames:
    """A stored day, read by `LakeDayReader` on a thread of its own (DuckDB sorts the day and
    Arrow batches come back while the event loop keeps running)."""

    def __init__(self, day: date, symbols: Sequence[str] | None, lake: Path | None) -> None:
        from apps.storage.replay import LakeDayReader

        self.reader = LakeDayReader(day=day, symbols=symbols, lake=lake, rows_per_chunk=LINES_PER_FRAME)
        self._chunks: Iterator[list[Event]] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-lake")
        self._reading: asyncio.Future[list[bytes]] | None = None

    @property
    def label(self) -> str:
        return f"lake {self.reader.lake} {self.reader.day.isoformat()}"

    async def open(self) -> None:
        if self._chunks is None:  # a reconnect resumes where the replay stood
            self._chunks = self.reader.chunks()

    def _next(self) -> list[bytes]:
        events = next(self._chunks, []) if self._chunks is not None else []
        return [encode_json(event) + b"\n" for event in events]

    async def next_lines(self) -> list[bytes]:
        if self._chunks is None:
            raise ConnectionLostError("not connected")
        if self._reading is None:
            self._reading = asyncio.get_running_loop().run_in_executor(self._executor, self._next)
        # Shielded: a caller cancelled meanwhile (the runner's watchdog while DuckDB sorts the day)
        # gets the same chunk on its next call instead of losing it.
        lines = await asyncio.shield(self._reading)
        self._reading = None
        return lines


def _shifted(event: Event, offset: int, feed: str) -> Event:
    if isinstance(event, Trade | Quote | DepthSnapshot | DepthUpdate):
        return msgspec.structs.replace(event, ts_event=event.ts_event + offset, feed=feed)
    raise AssertionError(f"unexpected event {event!r}")


class ReplayClient:
    """Replays a JSON-lines `path`, or the lake's `day` (for `symbols`, or every symbol stored
    that day). `speed` 1 replays in real time, 10 ten times faster, 0 as fast as possible. By
    default times are shifted so the first event happens now (`keep_time` keeps them as
    recorded). Events are written with the feed `replay`."""

    name = "replay"

    def __init__(
        self,
        *,
        path: Path | None = None,
        day: date | None = None,
        symbols: Sequence[str] | None = None,
        lake: Path | None = None,
        speed: float = 1.0,
        keep_time: bool = False,
    ) -> None:
        self._frames: _FileFrames | _LakeFrames
        if path is not None and day is None:
            self._frames = _FileFrames(path)
        elif day is not None and path is None:
            self._frames = _LakeFrames(day, symbols, lake)
        else:
            raise ValueError("replay needs exactly one source: a file (--file) or a lake day (--date)")
        self.path = path
        self.speed = speed
        self.keep_time = keep_time
        self._line = 0
        self._offset = 0
        self._first_ts: int | None = None
        self._started = 0.0
        self._pending: list[bytes] | None = None

    async def connect(self) -> None:
        await self._frames.open()

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """A replay sends what was recorded; the subscription does not filter it."""

    async def receive(self) -> bytes | str:
        """The next frame when it is due. A frame read but not yet due is kept (a receive
        cancelled while it waits loses nothing), and a long wait (a quiet night, the daily
        maintenance break) is broken by an empty frame every HEARTBEAT_SECONDS, so the runner's
        watchdog sees a live feed instead of reconnecting and recording a gap."""
        if self._pending is None:
            self._pending = await self._frames.next_lines()
        lines = self._pending
        if not lines:
            raise FeedExhaustedError(self._frames.label)
        if not self._started:
            self._started = time.time()  # the clock starts with the first frame, not the connect
        try:
            ts = msgspec.json.decode(lines[0], type=dict)["ts_event"]
        except (msgspec.DecodeError, KeyError, TypeError):
            ts = None
        delay = 0.0
        if isinstance(ts, int) and self.speed > 0:
            if self._first_ts is None:
                self._first_ts = ts
            due = self._started + (ts - self._first_ts) / 1e9 / self.speed
            delay = due - time.time()
        if delay > HEARTBEAT_SECONDS:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            return b""
        # At least one event-loop turn per frame, as a socket read takes: even as fast as
        # possible, the background write, the periodic flush and the status keep running.
        await asyncio.sleep(max(delay, 0.0))
        self._pending = None
        self._line += len(lines)
        return b"".join(lines)

    def parse(self, raw: bytes | str, *, ts_recv: int) -> list[Event]:
        data = raw.encode() if isinstance(raw, str) else raw
        events = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                event = decode_json(line)
            except (msgspec.ValidationError, msgspec.DecodeError) as error:
                raise MalformedMessageError(
                    "bad_line", str(error), f"{self._frames.label} frame line {number}"
                ) from None
            if not self.keep_time:
                if self._first_ts is None:
                    self._first_ts = event.ts_event
                if not self._offset:
                    self._offset = int(self._started * 1e9) - self._first_ts
                event = _shifted(event, self._offset, self.name)
            else:
                event = msgspec.structs.replace(event, feed=self.name)
            events.append(msgspec.structs.replace(event, ts_recv=ts_recv))
        return events

    async def close(self) -> None:
        """The file stays open across reconnects; it closes with the process."""
