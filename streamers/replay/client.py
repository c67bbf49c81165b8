"""Replay client: JSON-lines of normalized events, paced by their exchange times."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import msgspec

from apps.marketdata.events import DepthSnapshot, DepthUpdate, Event, Quote, Trade, decode_json
from streamers.feed import ConnectionLostError, FeedExhaustedError, MalformedMessageError

LINES_PER_FRAME = 500


def _shifted(event: Event, offset: int, feed: str) -> Event:
    if isinstance(event, Trade | Quote | DepthSnapshot | DepthUpdate):
        return msgspec.structs.replace(event, ts_event=event.ts_event + offset, feed=feed)
    raise AssertionError(f"unexpected event {event!r}")


class ReplayClient:
    """`speed` 1 replays in real time, 10 ten times faster, 0 as fast as possible. By default
    times are shifted so the first event happens now (`keep_time` keeps them as recorded)."""

    name = "replay"

    def __init__(self, *, path: Path, speed: float = 1.0, keep_time: bool = False) -> None:
        self.path = path
        self.speed = speed
        self.keep_time = keep_time
        self._file: IO[bytes] | None = None
        self._line = 0
        self._offset = 0
        self._first_ts: int | None = None
        self._started = 0.0

    async def connect(self) -> None:
        if not self.path.is_file():
            raise ConnectionLostError(f"replay file {self.path} does not exist")
        if self._file is None:  # a reconnect resumes where the replay stood
            self._file = self.path.open("rb")
            self._started = time.time()

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """A replay sends what was recorded; the subscription does not filter it."""

    async def receive(self) -> bytes | str:
        if self._file is None:
            raise ConnectionLostError("not connected")
        lines = []
        for _ in range(LINES_PER_FRAME):
            line = self._file.readline()
            if not line:
                break
            lines.append(line)
        if not lines:
            raise FeedExhaustedError(str(self.path))
        first = lines[0]
        try:
            ts = msgspec.json.decode(first, type=dict)["ts_event"]
        except (msgspec.DecodeError, KeyError, TypeError):
            ts = None
        delay = 0.0
        if isinstance(ts, int) and self.speed > 0:
            if self._first_ts is None:
                self._first_ts = ts
            due = self._started + (ts - self._first_ts) / 1e9 / self.speed
            delay = due - time.time()
        # At least one event-loop turn per frame, as a socket read takes: even as fast as
        # possible, the background write, the periodic flush and the status keep running.
        await asyncio.sleep(max(delay, 0.0))
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
                raise MalformedMessageError("bad_line", str(error), f"{self.path} frame line {number}") from None
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
