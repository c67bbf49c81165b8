"""The runner's write side: events buffered into batches and handed to the sink, never dropped.

A batch the sink cannot take right now stays in the buffer, ahead of what arrives meanwhile; a
batch it refuses (or cannot encode) goes to disk in `var/spill/` with the reason, for a replay.
Each written batch is counted in the metrics and, with `--record`, appended to a file.

A sink that cannot be reached is a store outage: from the first failed write to the next one
that succeeds, with the most events held meanwhile. Each ended outage is logged, counted and kept
in `ended_outages` for the runner to record once the store is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

import redis
import structlog

from apps.core.clock import utc_now
from apps.marketdata.events import Event, encode_json
from apps.marketdata.services.streams import WriteResult
from apps.monitoring import metrics
from streamers.config import RunnerConfig
from streamers.sinks import EventSink

log = structlog.get_logger(__name__)

FINAL_WRITE_ATTEMPTS = 10
# The sink cannot be reached: keep the batch and try again (other errors are about the batch).
UNREACHABLE_ERRORS = (redis.RedisError, ConnectionError, TimeoutError)


@dataclass
class StoreOutage:
    start_ms: int
    reason: str
    buffered: int
    end_ms: int | None = None


def _now_ms() -> int:
    return int(utc_now().timestamp() * 1000)


class EventBatcher:
    def __init__(self, sink: EventSink, config: RunnerConfig) -> None:
        self.sink = sink
        self.config = config
        self.name = config.name
        self.buffer: list[Event] = []
        self.events_written = 0
        # The streams the sink wrote to (its results' last_ids), for the trimming.
        self.written_keys: set[str] = set()
        self._lock = asyncio.Lock()
        # Set once a whole batch is buffered: ends a lingering write's wait (see `flush`).
        self._batch_full = asyncio.Event()
        self._background: asyncio.Task[None] | None = None
        self._record: IO[bytes] | None = None
        # The outage going on (the sink cannot be reached), and the ended ones not yet recorded.
        self.outage: StoreOutage | None = None
        self.ended_outages: list[StoreOutage] = []

    def open_recording(self) -> None:
        if self.config.record_path:
            self._record = self.config.record_path.open("ab")

    def close_recording(self) -> None:
        if self._record:
            self._record.close()

    async def add(self, events: Sequence[Event]) -> None:
        """Buffer parsed events and start a write at once unless one is under way (group commit).

        An idle feed's event goes out alone, without waiting for a batch to fill or an interval to
        pass; under load the events parsed while a write waited on the sink go out together in the
        next one, so a batch is as big as the load makes it (up to `batch_size`)."""
        self.buffer.extend(events)
        if len(self.buffer) >= self.config.batch_size:
            self._batch_full.set()
        if len(self.buffer) >= 8 * self.config.batch_size:
            await self.flush()  # the sink is behind: stop reading until it catches up
        elif self._background is None or self._background.done():
            # Write in the background and keep parsing: the sink and Python work at once.
            self._background = asyncio.create_task(self.flush(drain=True))

    async def wait_background(self) -> None:
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)

    async def flush(self, *, final: bool = False, drain: bool = False) -> None:
        """Write the buffer: everything, with `final` (retrying an unreachable sink) or `drain`
        (the group commit: what arrived during a write goes out right after it); otherwise what is
        buffered now, then only while a full batch has arrived meanwhile."""
        async with self._lock:
            failures = 0
            take_partial = True
            while self.buffer and (final or drain or take_partial or len(self.buffer) >= self.config.batch_size):
                if drain and not take_partial and len(self.buffer) < self.config.batch_size:
                    # Events arrived while the last write waited on the sink: the feed is busy.
                    # Linger a moment for a fuller batch: at saturation a write per few frames
                    # costs a script call and a block header each, and a quarter of the rate.
                    await self._linger()
                take_partial = False
                # At most a batch per write, also after a backlog: a block (one stream entry per
                # symbol and kind) stays small enough to go out as one WebSocket frame.
                batch = self.buffer[: self.config.batch_size]
                self.buffer = self.buffer[self.config.batch_size :]
                try:
                    started = time.perf_counter()
                    result = await self.sink.write(batch)
                except UNREACHABLE_ERRORS as error:
                    # Keep the batch, in order, ahead of anything received meanwhile: never drop.
                    self.buffer = batch + self.buffer
                    self._outage_continues(error)
                    failures += 1
                    log.error("streamer.write_failed", streamer=self.name, error=str(error), buffered=len(self.buffer))
                    if not final:
                        await asyncio.sleep(0.5)
                        return
                    if failures >= FINAL_WRITE_ATTEMPTS:
                        self.spill(self.buffer, reason=f"sink unreachable at shutdown: {error}")
                        self.buffer = []
                        return
                    await asyncio.sleep(1)
                    continue
                except Exception as error:  # noqa: BLE001 - one bad event must not stop the writes
                    # The batch could not be encoded (an event the block format cannot hold, e.g.
                    # a feed missing from FEED_CODES): nothing of it was written, so all of it
                    # goes to disk with the reason, and the writes go on.
                    metrics.STREAMER_WRITE_ERRORS.labels(self.name).inc()
                    self.spill(batch, reason=f"could not be written: {type(error).__name__}: {error}")
                    continue
                # The store refused part of the batch itself (not a connection problem): retrying
                # would block the feed forever, so it goes to disk for a replay.
                self._outage_ended(held=len(batch) + len(self.buffer))
                for events, reason in result.rejected:
                    self.spill(events, reason=reason)
                self._account(batch, result, time.perf_counter() - started)

    async def _linger(self) -> None:
        self._batch_full.clear()
        if len(self.buffer) < self.config.batch_size:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._batch_full.wait(), timeout=self.config.batch_linger)

    def _outage_continues(self, error: BaseException) -> None:
        if self.outage is None:
            self.outage = StoreOutage(start_ms=_now_ms(), reason=f"{type(error).__name__}: {error}", buffered=0)
            metrics.STREAMER_STORE_UP.labels(self.name).set(0)
            log.error("streamer.store_down", streamer=self.name, error=self.outage.reason, buffered=len(self.buffer))
        self.outage.buffered = max(self.outage.buffered, len(self.buffer))

    def _outage_ended(self, *, held: int) -> None:
        metrics.STREAMER_STORE_UP.labels(self.name).set(1)
        outage, self.outage = self.outage, None
        if outage is None:
            return
        outage.end_ms = _now_ms()
        outage.buffered = max(outage.buffered, held)
        seconds = (outage.end_ms - outage.start_ms) / 1000
        metrics.STREAMER_STORE_OUTAGES.labels(self.name).inc()
        metrics.STREAMER_STORE_OUTAGE_SECONDS.labels(self.name).inc(max(0.0, seconds))
        self.ended_outages.append(outage)
        log.warning(
            "streamer.store_outage",
            streamer=self.name,
            start_ms=outage.start_ms,
            end_ms=outage.end_ms,
            seconds=seconds,
            buffered=outage.buffered,
            reason=outage.reason,
        )

    def spill(self, events: Sequence[Event], *, reason: str) -> None:
        """Write events the sink would not take to var/spill/ (replay them with `run_streamer
        replay --file PATH --keep-time`)."""
        self.config.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.config.spill_dir / f"{self.name}-{time.time_ns()}.jsonl"
        path.write_bytes(b"".join(encode_json(event) + b"\n" for event in events))
        log.error("streamer.spilled", streamer=self.name, events=len(events), path=str(path), reason=reason)

    def _account(self, batch: Sequence[Event], result: WriteResult, seconds: float) -> None:
        self.events_written += result.events
        self.written_keys.update(result.last_ids)
        metrics.STREAMER_BATCH_SECONDS.labels(self.name).observe(seconds)
        for kind, count in (("trade", result.trades), ("quote", result.quotes), ("depth", result.depth)):
            if count:
                metrics.STREAMER_EVENTS.labels(self.name, kind).inc(count)
        now_ns = time.time_ns()
        step = max(1, len(batch) // 50)  # a sample per batch keeps the histogram cheap at high rates
        histogram = metrics.STREAMER_LATENCY.labels(self.name)
        for event in batch[::step]:
            histogram.observe(max(0.0, (now_ns - event.ts_event) / 1e9))
        if self._record is not None:
            self._record.write(b"".join(encode_json(event) + b"\n" for event in batch))
