"""The streamer runner: one asyncio process per feed.

It connects the feed client, subscribes to the runtime configuration's symbols, parses every
message into events, and hands them to the batcher, which writes them to the sink (the hot
store by default). Around that it owns what every feed needs the same way: reconnection with
exponential backoff and jitter, resubscription and a gap event after every reconnect, a
heartbeat watchdog, dead letters for messages it cannot parse, store outages (the hot store
refused writes: it buffered, then recorded the outage), a status hash in Redis, Prometheus
metrics, trimming of the streams it writes, and a clean stop on SIGTERM that writes out what
it buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import Any

import redis
import redis.asyncio
import structlog
from prometheus_client import start_http_server

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.retry import reconnect_backoff
from apps.marketdata.services.deadletters import dead_letter_park
from apps.marketdata.services.gaps import gap_record, store_outage_record
from streamers import metrics
from streamers.batching import EventBatcher
from streamers.config import RunnerConfig, StreamerConfigError
from streamers.control import ControlRequests
from streamers.feed import (
    ConnectionLostError,
    FeedClient,
    FeedExhaustedError,
    FinishingClient,
    MalformedMessageError,
)
from streamers.runtime_view import RuntimeView, runtime_view_read
from streamers.sinks import EventSink, HotStoreSink
from streamers.trimming import written_streams_trim

log = structlog.get_logger(__name__)

CONNECT_ERRORS = (ConnectionLostError, OSError, TimeoutError)
SAMPLE_CHARS = 300


class _SessionEndedError(Exception):
    """The housekeeping task ended the session (disabled in the admin, or stopping)."""


def _raw_form(message: object) -> bytes | str:
    """A message as a dead letter keeps it: bytes and text as they came, a typed object (an
    SDK's event) as its repr."""
    return message if isinstance(message, bytes | str) else repr(message)


class StreamerRunner:
    """Runs `client` until stopped. `sink` takes the batches (default: the hot store, on a
    Redis connection of its own); the runner closes it when it stops. Status, gaps, dead
    letters and control requests always go to the Redis at `redis_url`."""

    def __init__(
        self,
        client: FeedClient[Any],
        config: RunnerConfig,
        *,
        redis_url: str,
        sink: EventSink | None = None,
        keyspace: keys.KeySpace = keys.LIVE,
        expire_seconds: int | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.redis_url = redis_url
        self.name = config.name
        # The live store, or a replay's sandbox: its events, status, gaps, dead letters and control
        # requests all live there, and its keys expire `expire_seconds` after their last write.
        self.keyspace = keyspace
        self.expire_seconds = expire_seconds if not keyspace.is_live else None
        default_sink = HotStoreSink(
            redis_url=redis_url, feed=config.name, keyspace=keyspace, expire_seconds=self.expire_seconds
        )
        self.batcher = EventBatcher(sink or default_sink, config)
        self._stop = asyncio.Event()
        self._logged_kinds: set[str] = set()
        self.runtime: RuntimeView | None = None
        self.connected = False
        self.state = "starting"
        self.connected_since: float | None = None
        self.last_message_ms: int | None = None
        self.gap_start_ms: int | None = None
        self.gap_reason = ""
        self.messages = 0
        self.dead_letters = 0
        self.reconnects = 0
        self.gaps = 0
        self._rate_mark = (time.monotonic(), 0)
        self.rate = 0.0
        self._session_symbols: list[str] = []
        self.resubscribes = 0
        self.store_outages = 0

    @property
    def events_written(self) -> int:
        return self.batcher.events_written

    @property
    def _runtime(self) -> RuntimeView:
        if self.runtime is None:
            raise RuntimeError("runtime configuration not loaded yet")
        return self.runtime

    async def _read_runtime(self) -> RuntimeView:
        return await asyncio.to_thread(
            runtime_view_read,
            name=self.name,
            fixed_symbols=self.config.fixed_symbols,
            symbols_setting=self.config.symbols_setting,
            subscription_setting=self.config.subscription_setting,
        )

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
            try:
                start_http_server(self.config.metrics_port, addr=self.config.metrics_host)
            except OSError as error:
                where = f"{self.config.metrics_host}:{self.config.metrics_port}"
                raise StreamerConfigError(
                    f"--metrics-port {self.config.metrics_port}: cannot listen on {where} ({error.strerror or error});"
                    " pick a free port, or 0 for no metrics"
                ) from None
        self.batcher.open_recording()
        metrics.STORE_UP.labels(self.name).set(1)
        self.redis = redis.asyncio.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        self.control = ControlRequests(self.redis, name=self.name, keyspace=self.keyspace)
        await self.control.skip_earlier()
        self.runtime = await self._read_runtime()
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
            await asyncio.gather(flusher, return_exceptions=True)
            await self.batcher.wait_background()
            await self._close_client()
            await self.batcher.flush(final=True)
            await self._record_store_outages()
            self.state = "stopped"
            await self._publish_status()
            metrics.CONNECTED.labels(self.name).set(0)
            self.batcher.close_recording()
            await self.batcher.sink.close()
            if isinstance(self.client, FinishingClient):
                try:
                    await self.client.finish()
                except Exception as error:  # noqa: BLE001 - the stop goes on; say what failed
                    log.warning("streamer.finish_failed", streamer=self.name, error=f"{type(error).__name__}: {error}")
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
        await self.batcher.flush()
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
                message = await asyncio.wait_for(self._receive(), timeout=self._runtime.heartbeat_timeout)
            except TimeoutError:
                if self._stop.is_set() or not self.connected:
                    raise _SessionEndedError from None
                raise ConnectionLostError(
                    f"no message for {self._runtime.heartbeat_timeout:g} s (heartbeat watchdog)"
                ) from None
            await self._handle(message)

    async def _receive(self) -> object:
        try:
            return await self.client.receive()
        except FeedExhaustedError:
            log.info("streamer.feed_finished", streamer=self.name)
            self.stop()
            raise _SessionEndedError from None

    async def _handle(self, message: object) -> None:
        ts_recv = time.time_ns()
        self.messages += 1
        metrics.MESSAGES.labels(self.name).inc()
        self.last_message_ms = ts_recv // 1_000_000
        if self.gap_start_ms is not None:
            await self._record_gap(end_ms=self.last_message_ms)
        try:
            events = self.client.parse(message, ts_recv=ts_recv)
        except MalformedMessageError as error:
            await self._dead_letter(message, kind=error.kind, reason=error.reason, location=error.location)
            return
        except Exception as error:  # noqa: BLE001 - a parser bug must not stop the feed
            await self._dead_letter(
                message, kind="parser_error", reason=f"{type(error).__name__}: {error}", location="parse"
            )
            return
        if events:
            await self.batcher.add(events)

    async def _record_gap(self, *, end_ms: int) -> None:
        start_ms, self.gap_start_ms = self.gap_start_ms or end_ms, None
        await gap_record(
            client=self.redis,
            feed=self.name,
            symbols=self._session_symbols,
            start_ms=start_ms,
            end_ms=end_ms,
            reason=self.gap_reason,
            keyspace=self.keyspace,
        )
        await self._expire(self.keyspace.gaps)
        self.gaps += 1
        metrics.GAPS.labels(self.name).inc()
        log.warning(
            "streamer.gap", streamer=self.name, start_ms=start_ms, end_ms=end_ms, seconds=(end_ms - start_ms) / 1000
        )

    async def _dead_letter(self, message: object, *, kind: str, reason: str, location: str) -> None:
        self.dead_letters += 1
        metrics.DEAD_LETTERS.labels(self.name, kind).inc()
        raw = _raw_form(message)
        if kind not in self._logged_kinds:
            self._logged_kinds.add(kind)
            sample = raw[:SAMPLE_CHARS] if isinstance(raw, str) else raw[:SAMPLE_CHARS].decode(errors="replace")
            log.warning(
                "streamer.dead_letter", streamer=self.name, kind=kind, reason=reason, location=location, sample=sample
            )
        await dead_letter_park(
            client=self.redis,
            source=self.name,
            reason=f"{kind}: {reason}",
            location=location,
            raw=raw,
            keyspace=self.keyspace,
        )
        await self._expire(self.keyspace.dead_letter(self.name))

    async def _expire(self, key: str) -> None:
        """A sandbox's key lives `expire_seconds` after its last write; live keys never expire."""
        if self.expire_seconds:
            with contextlib.suppress(redis.RedisError):
                await self.redis.expire(key, self.expire_seconds)

    async def _close_client(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()

    async def _flush_periodically(self) -> None:
        # Ends by itself once stopping; never cancelled, so a write is never cut in half.
        while not self._stop.is_set():
            await self._sleep_or_stop(self.config.batch_interval)
            if self.batcher.buffer:
                await self.batcher.flush()

    # -- housekeeping: runtime configuration, operator requests, status, trimming -----------

    async def _housekeeping(self) -> None:
        last_trim = time.monotonic()
        while True:
            await asyncio.sleep(self.config.status_interval)
            try:
                await self._apply_runtime(await self._read_runtime())
                await self._apply_control()
                await self._record_store_outages()
                await self._publish_status()
                # A sandbox is not trimmed: nothing flushes it, and it expires whole.
                if self.keyspace.is_live and time.monotonic() - last_trim >= self.config.trim_interval:
                    last_trim = time.monotonic()
                    await asyncio.to_thread(
                        written_streams_trim, redis_url=self.redis_url, stream_keys=set(self.batcher.written_keys)
                    )
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

    async def _apply_control(self) -> None:
        """`resubscribe` sends the subscription of every symbol again on the open connection, as
        after a reconnect; without a connection the next connect subscribes anyway."""
        actions = await self.control.new_actions()
        if "resubscribe" in actions and self.connected:
            log.info("streamer.resubscribe_requested", streamer=self.name, symbols=self._session_symbols)
            await self.client.subscribe(self._session_symbols)
            self.resubscribes += 1

    async def _record_store_outages(self) -> None:
        """Record the outages that ended; one that cannot be recorded yet stays for the next turn."""
        while self.batcher.ended_outages:
            outage = self.batcher.ended_outages[0]
            try:
                await store_outage_record(
                    client=self.redis,
                    feed=self.name,
                    start_ms=outage.start_ms,
                    end_ms=outage.end_ms or outage.start_ms,
                    buffered=outage.buffered,
                    reason=outage.reason,
                    keyspace=self.keyspace,
                )
                await self._expire(self.keyspace.store_outages)
            except redis.RedisError as error:
                log.warning("streamer.store_outage_not_recorded", streamer=self.name, error=str(error))
                return
            self.batcher.ended_outages.pop(0)
            self.store_outages += 1

    async def _publish_status(self) -> None:
        mark_time, mark_count = self._rate_mark
        now = time.monotonic()
        if now - mark_time >= 1:
            self.rate = (self.messages - mark_count) / (now - mark_time)
            self._rate_mark = (now, self.messages)
        outage = self.batcher.outage
        status: dict[str, Any] = {
            # The feed may be connected while the store refuses writes: the streamer only buffers.
            "state": "store_down" if outage is not None else self.state,
            "store_down_since_ms": outage.start_ms if outage is not None else "",
            "store_outages": self.store_outages,
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
            await self.redis.hset(self.keyspace.streamer(self.name), mapping=status)  # type: ignore[arg-type]
            await self._expire(self.keyspace.streamer(self.name))
