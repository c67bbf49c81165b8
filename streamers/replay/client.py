"""Replay client: recorded events sent again, paced by their exchange times, which they keep.

Two sources, one wire form (JSON lines of normalized events, so both take the same parse):
a file written with `run_streamer simulator --record` (or spilled by a streamer), or a day of
the Parquet lake (`apps.storage.replay`), read in chunks on a worker thread.

With a sandbox (`streamers/replay/sandbox.py`) the client follows its pause requests and reports
its progress there and to a progress view; the runner writes its events into the sandbox's keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import IO

import msgspec
import redis
import structlog

from apps.marketdata.events import Event, decode_json, encode_json
from streamers.feed import ConnectionLostError, FeedExhaustedError, MalformedMessageError
from streamers.replay.progress import ReplayProgress, ReplayProgressView
from streamers.replay.sandbox import ReplaySandbox

log = structlog.get_logger(__name__)

LINES_PER_FRAME = 500
# While waiting for the next frame's time (or paused), an empty frame this often keeps the
# watchdog quiet; the pause request and the progress are looked at as often.
HEARTBEAT_SECONDS = 0.25


class _FileFrames:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    @property
    def label(self) -> str:
        return str(self.path)

    def span(self) -> tuple[int, int] | None:
        """The first and last line's exchange times (ns), read from the ends of the file."""
        try:
            with self.path.open("rb") as handle:
                first = handle.readline()
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(max(0, size - 64 * 1024))
                tail = [line for line in handle.read().splitlines() if line.strip()]
            low = msgspec.json.decode(first, type=dict)["ts_event"]
            high = msgspec.json.decode(tail[-1], type=dict)["ts_event"] if tail else low
        except (OSError, msgspec.DecodeError, KeyError, TypeError, IndexError):
            return None
        return (low, high) if isinstance(low, int) and isinstance(high, int) and high >= low else None

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

    def span(self) -> tuple[int, int] | None:
        from apps.storage.replay import lake_day_span

        return lake_day_span(day=self.reader.day, symbols=self.reader.symbols, lake=self.reader.lake)

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


class ReplayClient:
    """Replays a JSON-lines `path`, or the lake's `day` (for `symbols`, or every symbol stored
    that day). `speed` 1 replays in real time, 10 ten times faster, 0 as fast as possible. Events
    keep their exchange times and feeds; the runner writes them into `sandbox`'s keys (without a
    sandbox, into the live store: the recovery of spilled batches, `--into-live`)."""

    name = "replay"

    def __init__(
        self,
        *,
        path: Path | None = None,
        day: date | None = None,
        symbols: Sequence[str] | None = None,
        lake: Path | None = None,
        speed: float = 1.0,
        sandbox: ReplaySandbox | None = None,
        view: ReplayProgressView | None = None,
        total: int | None = None,
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
        self.sandbox = sandbox
        self.view = view
        self.symbols = list(symbols or ())
        self.total = total
        self._line = 0
        self._first_ts: int | None = None
        self._started = 0.0
        self._pending: list[bytes] | None = None
        self._span: tuple[int, int] | None = None
        self._clock: int | None = None
        self._done = 0
        self._seen: set[str] = set()
        # Pauses: wall seconds spent paused (pacing and the ETA leave them out), and since when.
        self._paused_for = 0.0
        self._paused_since: float | None = None
        self._checked = 0.0
        self._state = "running"

    @property
    def replay_id(self) -> str:
        return self.sandbox.replay_id if self.sandbox is not None else "into-live"

    @property
    def paused(self) -> bool:
        return self._paused_since is not None

    async def connect(self) -> None:
        await self._frames.open()
        if self._span is None:
            self._span = await asyncio.to_thread(self._frames.span)
        if self.sandbox is not None:
            await self.sandbox.open(source=self._frames.label, symbols=self.symbols, speed=self.speed, total=self.total)
            if self.sandbox.start_paused and self._paused_since is None and not self._started:
                self._paused_since = time.time()
                self._state = "paused"

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """A replay sends what was recorded; the subscription does not filter it."""

    def progress(self) -> ReplayProgress:
        now = time.time()
        pausing = now - self._paused_since if self._paused_since is not None and self._started else 0.0
        active = now - self._started - self._paused_for - pausing if self._started else 0.0
        return ReplayProgress(
            replay_id=self.replay_id,
            speed=self.speed,
            done=self._done,
            total=self.total,
            clock_ns=self._clock,
            first_ns=self._span[0] if self._span else None,
            last_ns=self._span[1] if self._span else None,
            active_seconds=active,
            state=self._state,
        )

    async def _report(self, *, final: bool = False) -> None:
        progress = self.progress()
        if self.view is not None:
            self.view.update(progress, final=final)
        if self.sandbox is not None and self.sandbox.is_open:
            await self.sandbox.report(progress, symbols=sorted(self._seen | set(self.symbols)))

    async def _check(self) -> None:
        """At most every HEARTBEAT_SECONDS: follow a pause or resume request, report progress."""
        now = time.time()
        if now - self._checked < HEARTBEAT_SECONDS:
            return
        self._checked = now
        try:
            await self._follow_requests(now)
        except redis.RedisError as error:
            # The store is out of reach: the runner buffers the events meanwhile; the pause request
            # and the progress wait for it to answer again.
            log.warning("replay.sandbox_unreachable", replay=self.replay_id, error=f"{type(error).__name__}: {error}")

    async def _follow_requests(self, now: float) -> None:
        if self.sandbox is not None and self.sandbox.is_open:
            wanted = await self.sandbox.paused()
            if wanted and self._paused_since is None:
                self._paused_since, self._state = now, "paused"
            elif not wanted and self._paused_since is not None:
                if self._started:
                    self._paused_for += now - self._paused_since
                self._paused_since, self._state = None, "running"
        await self._report()

    async def receive(self) -> bytes | str:
        """The next frame when it is due. A frame read but not yet due is kept (a receive
        cancelled while it waits loses nothing), and a long wait (a quiet night, the daily
        maintenance break, a pause) is broken by an empty frame every HEARTBEAT_SECONDS, so the
        runner's watchdog sees a live feed instead of reconnecting and recording a gap."""
        await self._check()
        if self._paused_since is not None:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            return b""
        if self._pending is None:
            self._pending = await self._frames.next_lines()
        lines = self._pending
        if not lines:
            self._state = "finished"
            with contextlib.suppress(redis.RedisError):  # `finish` reports it again after the last write
                await self._report(final=True)
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
            due = self._started + self._paused_for + (ts - self._first_ts) / 1e9 / self.speed
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
            # The exchange time and the feed stay as recorded: a replay of 20 November shows 20 November.
            events.append(msgspec.structs.replace(event, ts_recv=ts_recv))
        if events:
            self._seen.update(event.symbol for event in events)
            self._done += len(events)
            self._clock = events[-1].ts_event
        return events

    async def close(self) -> None:
        """The file and the sandbox stay open across reconnects; `finish` closes the sandbox."""

    async def finish(self) -> None:
        """After the runner's last write: the sandbox says finished, or stopped when the replay
        was stopped before its end."""
        if self._state != "finished":
            self._state = "stopped"
        await self._report(final=True)
        if self.view is not None:
            self.view.close()
        if self.sandbox is not None:
            await self.sandbox.close()
