"""The streamer runner: one asyncio process per feed.

It connects the feed client, subscribes to the runtime configuration's symbols, parses every
raw message into events, and writes them to Redis in batches. Around that it owns what every
feed needs the same way: reconnection with exponential backoff and jitter, resubscription and
a gap event after every reconnect, a heartbeat watchdog, dead letters for messages it cannot
parse, a status hash in Redis, Prometheus metrics, trimming of the streams it writes, and a
clean stop on SIGTERM that writes out what it buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import redis
import redis.asyncio
import structlog
from prometheus_client import start_http_server

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text as _text
from apps.core.redis import get_redis
from apps.core.retry import reconnect_backoff
from apps.marketdata.events import Event, encode_json
from apps.marketdata.services.deadletters import dead_letter_park
from apps.marketdata.services.gaps import gap_record
from apps.marketdata.services.streams import HotStoreWriter, WriteResult
from apps.marketdata.services.trim import stream_trim
from apps.marketdata.symbols import canonical
from streamers import metrics
from streamers.feed import ConnectionLostError, FeedClient, FeedExhaustedError, MalformedMessageError

log = structlog.get_logger(__name__)

CONNECT_ERRORS = (ConnectionLostError, OSError, TimeoutError)
FINAL_WRITE_ATTEMPTS = 10
SPILL_DIR = Path(__file__).resolve().parent.parent / "var" / "spill"


@dataclass(frozen=True)
class RunnerConfig:
    name: str
    # A write starts once this many events are buffered, or every batch_interval seconds with
    # what there is: below batch_size / batch_interval events/s (40,000) the interval decides,
    # so the size only matters at rates where bigger blocks are what keeps up (docs/benchmarks.md).
    batch_size: int = 2000
    batch_interval: float = 0.05
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    status_interval: float = 1.0
    trim_interval: float = 30.0
    # Symbols from the command line instead of the runtime setting marketdata.symbols.
    fixed_symbols: tuple[str, ...] | None = None
    record_path: Path | None = None
    # Where batches Redis refuses are kept for a replay (see StreamerRunner._spill).
    spill_dir: Path = SPILL_DIR


@dataclass(frozen=True)
class RuntimeView:
    symbols: list[str]
    enabled: bool
    heartbeat_timeout: float


def _read_runtime(name: str, fixed: tuple[str, ...] | None) -> RuntimeView:
    """Runs in a worker thread; closes the thread's database connection (if the cache had to
    open one) so none is left behind."""
    from django.db import connection

    try:
        return _runtime_view(name, fixed)
    finally:
        connection.close()


def _runtime_view(name: str, fixed: tuple[str, ...] | None) -> RuntimeView:
    from apps.core.runtime_config import refresh_if_stale, runtime_value

    refresh_if_stale()
    now = utc_now()
    raw = list(fixed) if fixed else list(runtime_value("marketdata.symbols"))
    symbols = sorted({canonical(symbol, at=now) for symbol in raw})
    return RuntimeView(
        symbols=symbols,
        enabled=name not in runtime_value("marketdata.disabled_streamers"),
        heartbeat_timeout=float(runtime_value("marketdata.heartbeat_timeout_seconds")),
    )


class _SessionEndedError(Exception):
    """The housekeeping task ended the session (disabled in the admin, or stopping)."""


class StreamerRunner:
    def __init__(self, client: FeedClient, config: RunnerConfig, *, redis_url: str) -> None:
        self.client = client
        self.config = config
        self.redis_url = redis_url
        self.name = config.name
        self._stop = asyncio.Event()
        self._buffer: list[Event] = []
        self._write_lock = asyncio.Lock()
        self._write_task: asyncio.Task[None] | None = None
        self._logged_kinds: set[str] = set()
        self._written_keys: set[str] = set()
        self._record: IO[bytes] | None = None
        self.runtime: RuntimeView | None = None
        self.connected = False
        self.state = "starting"
        self.connected_since: float | None = None
        self.last_message_ms: int | None = None
        self.gap_start_ms: int | None = None
        self.gap_reason = ""
        self.messages = 0
        self.events_written = 0
        self.dead_letters = 0
        self.reconnects = 0
        self.gaps = 0
        self._rate_mark = (time.monotonic(), 0)
        self.rate = 0.0
        self._session_symbols: list[str] = []
        self.resubscribes = 0
        self._control_seen = "0-0"

    @property
    def _runtime(self) -> RuntimeView:
        if self.runtime is None:
            raise RuntimeError("runtime configuration not loaded yet")
        return self.runtime

    # -- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the runner to stop: it closes the feed, writes its buffer and returns."""
        self._stop.set()
        # Closing the client wakes a receive() that may wait for the heartbeat timeout.
        self._closing = asyncio.get_running_loop().create_task(self._close_client())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Signal handlers exist only on Unix and in the main thread; a runner started in a
            # worker thread (tests, benchmarks) is stopped with stop() instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.stop)
        if self.config.metrics_port:
            start_http_server(self.config.metrics_port, addr=self.config.metrics_host)
        if self.config.record_path:
            self._record = self.config.record_path.open("ab")
        self.redis = redis.asyncio.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        self.writer = HotStoreWriter(self.redis, feed=self.name)
        self._control_seen = await self._control_last_id()
        self.runtime = await asyncio.to_thread(_read_runtime, self.name, self.config.fixed_symbols)
        log.info("streamer.starting", streamer=self.name, symbols=self._runtime.symbols, pid=os.getpid())
        flusher = asyncio.create_task(self._flush_periodically(), name="flush")
        housekeeping = asyncio.create_task(self._housekeeping(), name="housekeeping")
        try:
            await self._sessions()
        finally:
            self._stop.set()
            housekeeping.cancel()
            # It may be waiting on a thread (a database read); do not let that hold up the stop.
            await asyncio.wait([housekeeping], timeout=5)
            await asyncio.gather(flusher, *([self._write_task] if self._write_task else []), return_exceptions=True)
            await self._close_client()
            await self._flush(final=True)
            self.state = "stopped"
            await self._publish_status()
            metrics.CONNECTED.labels(self.name).set(0)
            if self._record:
                self._record.close()
            await self.redis.aclose()
            log.info(
                "streamer.stopped", streamer=self.name, written=self.events_written, dead_letters=self.dead_letters
            )

    async def _sleep_or_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    # -- sessions: connect, receive, reconnect ---------------------------------------------

    async def _sessions(self) -> None:
        while not self._stop.is_set():
            if not self._runtime.enabled:
                self.state = "disabled"
                await self._sleep_or_stop(self.config.status_interval)
                continue
            try:
                await self._connect()
            except CONNECT_ERRORS:
                if self._stop.is_set():
                    return
                raise
            try:
                await self._receive_loop()
            except (*CONNECT_ERRORS, _SessionEndedError) as error:
                await self._session_lost(error)

    async def _connect(self) -> None:
        self.state = "connecting"
        async for attempt in reconnect_backoff(
            retry_on=CONNECT_ERRORS,
            should_stop=self._stop.is_set,
            sleep=self._sleep_or_stop,
            initial=self.config.backoff_initial,
            maximum=self.config.backoff_max,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.info("streamer.connect_retry", streamer=self.name, attempt=attempt.retry_state.attempt_number)
                await self._close_client()
                await self.client.connect()
                self._session_symbols = list(self._runtime.symbols)
                await self.client.subscribe(self._session_symbols)
        self.connected, self.state = True, "connected"
        self.connected_since = time.time()
        metrics.CONNECTED.labels(self.name).set(1)
        log.info("streamer.connected", streamer=self.name, symbols=self._session_symbols)

    async def _session_lost(self, error: BaseException) -> None:
        self.connected = False
        metrics.CONNECTED.labels(self.name).set(0)
        await self._close_client()
        # Whatever arrived before the drop is written now, before anything else happens.
        await self._flush()
        disabled = self.runtime is not None and not self._runtime.enabled
        if self._stop.is_set() or disabled or isinstance(error, _SessionEndedError):
            return
        self.reconnects += 1
        metrics.RECONNECTS.labels(self.name).inc()
        if self.gap_start_ms is None:
            self.gap_start_ms = self.last_message_ms or int(time.time() * 1000)
            self.gap_reason = f"{type(error).__name__}: {error}"
        self.state = "reconnecting"
        log.warning("streamer.disconnected", streamer=self.name, error=self.gap_reason, reconnects=self.reconnects)

    async def _receive_loop(self) -> None:
        while not self._stop.is_set():
            try:
                raw = await asyncio.wait_for(self._receive(), timeout=self._runtime.heartbeat_timeout)
            except TimeoutError:
                if self._stop.is_set() or not self.connected:
                    raise _SessionEndedError from None
                raise ConnectionLostError(
                    f"no message for {self._runtime.heartbeat_timeout:g} s (heartbeat watchdog)"
                ) from None
            await self._handle(raw)

    async def _receive(self) -> bytes | str:
        try:
            return await self.client.receive()
        except FeedExhaustedError:
            log.info("streamer.feed_finished", streamer=self.name)
            self.stop()
            raise _SessionEndedError from None

    async def _handle(self, raw: bytes | str) -> None:
        ts_recv = time.time_ns()
        self.messages += 1
        metrics.MESSAGES.labels(self.name).inc()
        self.last_message_ms = ts_recv // 1_000_000
        if self.gap_start_ms is not None:
            await self._record_gap(end_ms=self.last_message_ms)
        try:
            events = self.client.parse(raw, ts_recv=ts_recv)
        except MalformedMessageError as error:
            await self._dead_letter(raw, kind=error.kind, reason=error.reason, location=error.location)
            return
        except Exception as error:  # noqa: BLE001 - a parser bug must not stop the feed
            await self._dead_letter(
                raw, kind="parser_error", reason=f"{type(error).__name__}: {error}", location="parse"
            )
            return
        if events:
            self._buffer.extend(events)
            if len(self._buffer) >= self.config.batch_size:
                if len(self._buffer) >= 8 * self.config.batch_size:
                    await self._flush()  # Redis is behind: stop reading until it catches up
                elif self._write_task is None or self._write_task.done():
                    # Write in the background and keep parsing: Redis and Python work at once.
                    self._write_task = asyncio.create_task(self._flush(partial=False))

    async def _record_gap(self, *, end_ms: int) -> None:
        start_ms, self.gap_start_ms = self.gap_start_ms or end_ms, None
        await gap_record(
            client=self.redis,
            feed=self.name,
            symbols=self._session_symbols,
            start_ms=start_ms,
            end_ms=end_ms,
            reason=self.gap_reason,
        )
        self.gaps += 1
        metrics.GAPS.labels(self.name).inc()
        log.warning(
            "streamer.gap", streamer=self.name, start_ms=start_ms, end_ms=end_ms, seconds=(end_ms - start_ms) / 1000
        )

    async def _dead_letter(self, raw: bytes | str, *, kind: str, reason: str, location: str) -> None:
        self.dead_letters += 1
        metrics.DEAD_LETTERS.labels(self.name, kind).inc()
        if kind not in self._logged_kinds:
            self._logged_kinds.add(kind)
            sample = raw[:300] if isinstance(raw, str) else raw[:300].decode(errors="replace")
            log.warning(
                "streamer.dead_letter", streamer=self.name, kind=kind, reason=reason, location=location, sample=sample
            )
        await dead_letter_park(
            client=self.redis, source=self.name, reason=f"{kind}: {reason}", location=location, raw=raw
        )

    async def _close_client(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()

    # -- writing ---------------------------------------------------------------------------

    async def _flush_periodically(self) -> None:
        # Ends by itself once stopping; never cancelled, so a write is never cut in half.
        while not self._stop.is_set():
            await self._sleep_or_stop(self.config.batch_interval)
            if self._buffer:
                await self._flush()

    async def _flush(self, *, final: bool = False, partial: bool = True) -> None:
        """Write the buffer: everything, with `final`; otherwise what is buffered now (with
        `partial`, the periodic flush), then only while a full batch has arrived meanwhile. A
        write does not chase the events parsed while it waited on Redis: at high rates those
        grow into the next full batch instead of many small ones, each paying a block and a
        script call."""
        async with self._write_lock:
            failures = 0
            take_partial = partial
            while self._buffer and (final or take_partial or len(self._buffer) >= self.config.batch_size):
                take_partial = False
                # At most a batch per write, also after a backlog: a block (one stream entry per
                # symbol and kind) stays small enough to go out as one WebSocket frame.
                batch = self._buffer[: self.config.batch_size]
                self._buffer = self._buffer[self.config.batch_size :]
                try:
                    started = time.perf_counter()
                    result = await self.writer.write(batch)
                except redis.RedisError as error:
                    # Keep the batch, in order, ahead of anything received meanwhile: never drop.
                    self._buffer = batch + self._buffer
                    failures += 1
                    log.error("streamer.write_failed", streamer=self.name, error=str(error), buffered=len(self._buffer))
                    if not final:
                        await asyncio.sleep(0.5)
                        return
                    if failures >= FINAL_WRITE_ATTEMPTS:
                        self._spill(self._buffer, reason=f"Redis unreachable at shutdown: {error}")
                        self._buffer = []
                        return
                    await asyncio.sleep(1)
                    continue
                except Exception as error:  # noqa: BLE001 - one bad event must not stop the writes
                    # The batch could not be encoded (an event the block format cannot hold, e.g.
                    # a feed missing from FEED_CODES): nothing of it reached Redis, so all of it
                    # goes to disk with the reason, and the writes go on.
                    metrics.WRITE_ERRORS.labels(self.name).inc()
                    self._spill(batch, reason=f"could not be written: {type(error).__name__}: {error}")
                    continue
                # Redis refused part of the batch itself (not a connection problem): retrying
                # would block the feed forever, so it goes to disk for a replay.
                for events, reason in result.rejected:
                    self._spill(events, reason=reason)
                self._account(batch, result, time.perf_counter() - started)

    def _spill(self, events: Sequence[Event], *, reason: str) -> None:
        """Write events Redis would not take to var/spill/ (replay them with `run_streamer replay
        --file PATH --keep-time`)."""
        self.config.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.config.spill_dir / f"{self.name}-{time.time_ns()}.jsonl"
        path.write_bytes(b"".join(encode_json(event) + b"\n" for event in events))
        log.error("streamer.spilled", streamer=self.name, events=len(events), path=str(path), reason=reason)

    def _account(self, batch: Sequence[Event], result: WriteResult, seconds: float) -> None:
        self.events_written += result.events
        self._written_keys.update(result.last_ids)
        metrics.BATCH_SECONDS.labels(self.name).observe(seconds)
        for kind, count in (("trade", result.trades), ("quote", result.quotes), ("depth", result.depth)):
            if count:
                metrics.EVENTS.labels(self.name, kind).inc(count)
        now_ns = time.time_ns()
        step = max(1, len(batch) // 50)  # a sample per batch keeps the histogram cheap at high rates
        histogram = metrics.LATENCY.labels(self.name)
        for event in batch[::step]:
            histogram.observe(max(0.0, (now_ns - event.ts_event) / 1e9))
        if self._record is not None:
            self._record.write(b"".join(encode_json(event) + b"\n" for event in batch))

    # -- housekeeping: runtime configuration, status, trimming ------------------------------

    async def _housekeeping(self) -> None:
        last_trim = time.monotonic()
        while True:
            await asyncio.sleep(self.config.status_interval)
            try:
                await self._apply_runtime(await asyncio.to_thread(_read_runtime, self.name, self.config.fixed_symbols))
                await self._apply_control()
                await self._publish_status()
                if time.monotonic() - last_trim >= self.config.trim_interval:
                    last_trim = time.monotonic()
                    await asyncio.to_thread(self._trim)
            except Exception as error:  # noqa: BLE001 - housekeeping must never stop the feed
                log.warning(
                    "streamer.housekeeping_failed", streamer=self.name, error=f"{type(error).__name__}: {error}"
                )

    async def _apply_runtime(self, runtime: RuntimeView) -> None:
        previous, self.runtime = self.runtime, runtime
        if previous is not None and previous.enabled and not runtime.enabled:
            log.info("streamer.disabled", streamer=self.name)
            await self._close_client()
        elif self.connected and runtime.symbols != self._session_symbols:
            log.info("streamer.resubscribe", streamer=self.name, symbols=runtime.symbols)
            self._session_symbols = list(runtime.symbols)
            await self.client.subscribe(self._session_symbols)

    # -- operator requests (the REST API's control endpoints) -------------------------------

    async def _control_last_id(self) -> str:
        """Requests made before this process started are not for it: start after the last one.
        (Redis down at start: from the beginning; an extra resubscription does no harm.)"""
        try:
            last: Any = await self.redis.xrevrange(keys.streamer_control(self.name), count=1)
        except redis.RedisError:
            return "0-0"
        return _text(last[0][0]) if last else "0-0"

    async def _apply_control(self) -> None:
        """Act on requests in `keys.streamer_control(name)`: `resubscribe` sends the subscription
        of every symbol again on the open connection, as after a reconnect. Several pending
        requests make one resubscription; without a connection the next connect subscribes anyway."""
        entries: Any = await self.redis.xrange(keys.streamer_control(self.name), min=f"({self._control_seen}", max="+")
        if not entries:
            return
        self._control_seen = _text(entries[-1][0])
        actions = {_text(fields.get(b"action", b"")) for _, fields in entries}
        for unknown in sorted(actions - {"resubscribe"}):
            log.warning("streamer.control_unknown", streamer=self.name, action=unknown)
        if "resubscribe" in actions and self.connected:
            log.info("streamer.resubscribe_requested", streamer=self.name, symbols=self._session_symbols)
            await self.client.subscribe(self._session_symbols)
            self.resubscribes += 1

    def _trim(self) -> None:
        """Runs in a worker thread: the retention policies' hot windows, then XTRIM."""
        from django.db import connection

        from apps.storage.retention import hot_windows

        try:
            windows = hot_windows()
        finally:
            connection.close()
        client = get_redis(self.redis_url)
        for key in sorted(self._written_keys):
            kind = key.split(":", 2)[1]
            stream_trim(client=client, key=key, window_minutes=windows[kind])

    async def _publish_status(self) -> None:
        mark_time, mark_count = self._rate_mark
        now = time.monotonic()
        if now - mark_time >= 1:
            self.rate = (self.messages - mark_count) / (now - mark_time)
            self._rate_mark = (now, self.messages)
        status: dict[str, Any] = {
            "state": self.state,
            "pid": os.getpid(),
            "symbols": ",".join(self._session_symbols or (self.runtime.symbols if self.runtime else [])),
            "connected_since": self.connected_since or "",
            "last_message_ms": self.last_message_ms or "",
            "messages": self.messages,
            "messages_per_second": round(self.rate, 1),
            "events_written": self.events_written,
            "dead_letters": self.dead_letters,
            "reconnects": self.reconnects,
            "gaps": self.gaps,
            "resubscribes": self.resubscribes,
            "updated_at": utc_now().isoformat(),
        }
        with contextlib.suppress(redis.RedisError):
            await self.redis.hset(keys.streamer(self.name), mapping=status)  # type: ignore[arg-type]
