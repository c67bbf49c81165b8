"""The UW socket client: connection, joins, liveness and the back-fill after a gap.

- Connects to `UW_SOCKET_URL?token=...` (Phoenix: `.../websocket?vsn=2.0.0&token=...`); the
  URL with the token is never logged or put in an error (errors name `UW_SOCKET_URL` only). A
  token refused at the upgrade (HTTP 401/403) stops the streamer with StreamerConfigError naming
  UW_API_TOKEN: retrying cannot fix it.
- Joins each channel once per connection: `{"channel": C, "msg_type": "join"}`, or Phoenix's
  `[ref, ref, C, "phx_join", {}]`. After a reconnect the runner subscribes again, so every
  channel is re-joined. UW has no leave: a channel removed from `uw.channels` is left by
  reconnecting; Phoenix sends `phx_leave`. A Phoenix `phx_error` re-joins that channel.
- Liveness: after `ping_after` seconds of silence a WebSocket ping; no pong within
  `pong_timeout` drops the connection (the runner reconnects with backoff). A pong is returned
  as an empty message, so the runner's watchdog sees the socket is alive through quiet hours.
  Phoenix also sends `[null, ref, "phoenix", "heartbeat", {}]` every `heartbeat_interval`; a
  heartbeat unanswered by the next one drops the connection.
- Back-fill: on each connection (after a drop, or a restart of the process) with `flow-alerts`
  joined, the flow alerts UW created after the newest one stored are fetched from the REST
  endpoint (`newer_than`, paged) and handed to the runner as one message; the hot store keeps
  each id once, so the overlap with the live feed is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import msgspec
import redis
import structlog
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from apps.core.redaction import redact
from apps.core.redis import get_redis
from apps.uw.rest import UWRestClient, UWRestError
from apps.uw.selectors import flow_alert_newest_time_ms
from streamers.config import StreamerConfigError
from streamers.feed import ConnectionLostError
from streamers.uw import framing
from streamers.uw.config import UWConfig
from streamers.uw.framing import KEEPALIVE, BackfilledAlerts, UWMessage

log = structlog.get_logger(__name__)

_encoder = msgspec.json.Encoder()


class _AlertTime(msgspec.Struct):
    executed_at: int


# An alert's time, to page the back-fill.
_alert_time = msgspec.json.Decoder(_AlertTime)
# Back-fill from a little before the newest stored alert: the same millisecond may hold alerts
# not seen yet, and repeats are refused by id anyway.
BACKFILL_OVERLAP_MS = 1000
BACKFILL_MAX_PAGES = 50


class UWClient:
    name = "uw"

    def __init__(self, config: UWConfig) -> None:
        self.config = config
        self.rest = UWRestClient(base_url=config.api_url, token=config.token)
        self._ws: ClientConnection | None = None
        self._recv: asyncio.Future[Any] | None = None
        self._joined: dict[str, str] = {}
        self._ref = 0
        self._queue: deque[BackfilledAlerts] = deque()
        self._queued = asyncio.Event()
        self._drop_reason: str | None = None
        self._rejoin: set[str] = set()
        self._last_frame = time.monotonic()
        self._next_heartbeat = time.monotonic()
        self._heartbeat_ref: str | None = None
        self._backfill_due = False
        self._backfill: asyncio.Task[None] | None = None
        self.connections = 0
        self.backfills = 0

    def _safe(self, error: BaseException | str) -> str:
        text = str(error).replace(self.config.token, "***")
        return redact(text)

    # -- connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        await self._drop()
        try:
            self._ws = await ws_connect(
                self.config.connect_url, open_timeout=10, ping_interval=None, close_timeout=2, max_size=16 * 2**20
            )
        except websockets.InvalidStatus as error:
            status = error.response.status_code
            if status in (401, 403):
                # Not an outage: retrying cannot help, so the streamer stops and says what to fix.
                raise StreamerConfigError(
                    f"UW_API_TOKEN was refused by UW_SOCKET_URL ({self.config.socket_url}): HTTP {status};"
                    " check the token (UW's socket needs the Advanced plan)"
                ) from None
            raise ConnectionLostError(f"UW_SOCKET_URL ({self.config.socket_url}) answered HTTP {status}") from None
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            where = f"UW_SOCKET_URL ({self.config.socket_url})"
            raise ConnectionLostError(
                f"cannot connect to {where}: {type(error).__name__}: {self._safe(error)}"
            ) from None
        self.connections += 1
        self._joined, self._rejoin, self._drop_reason = {}, set(), None
        self._last_frame = time.monotonic()
        self._next_heartbeat = time.monotonic() + self.config.heartbeat_interval
        self._heartbeat_ref = None
        self._backfill_due = True

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Join the channels (the runner's "symbols" are UW channels, from `uw.channels`)."""
        wanted = list(dict.fromkeys(symbols))
        for channel in [channel for channel in self._joined if channel not in wanted]:
            if self.config.protocol == "phoenix":
                ref = self._joined.pop(channel)
                await self._send([ref, self._next_ref(), channel, "phx_leave", {}])
            else:
                self._drop_reason = f"channel {channel!r} removed from uw.channels: reconnecting to leave it"
        for channel in wanted:
            if channel not in self._joined:
                await self._join(channel)
        if self._backfill_due and "flow-alerts" in wanted:
            self._backfill_due = False
            if self._backfill is None or self._backfill.done():
                self._backfill = asyncio.get_running_loop().create_task(self._backfill_alerts(), name="uw-backfill")

    async def _join(self, channel: str) -> None:
        if self.config.protocol == "phoenix":
            ref = self._next_ref()
            await self._send([ref, ref, channel, "phx_join", {}])
            self._joined[channel] = ref
        else:
            await self._send({"channel": channel, "msg_type": "join"})
            self._joined[channel] = ""

    def _next_ref(self) -> str:
        self._ref += 1
        return str(self._ref)

    async def _send(self, message: object) -> None:
        if self._ws is None:
            raise ConnectionLostError("not connected")
        try:
            await self._ws.send(_encoder.encode(message).decode())
        except websockets.WebSocketException as error:
            raise ConnectionLostError(f"UW socket lost while sending: {self._safe(error)}") from None

    # -- receiving ----------------------------------------------------------------------------

    async def receive(self) -> bytes | str | BackfilledAlerts:
        while True:
            self._queued.clear()
            if self._queue:
                return self._queue.popleft()
            if self._ws is None:
                raise ConnectionLostError("not connected")
            if self._drop_reason:
                raise ConnectionLostError(self._drop_reason)
            for channel in sorted(self._rejoin):
                self._rejoin.discard(channel)
                log.info("uw.rejoin", channel=channel)
                await self._join(channel)
            if self._recv is None:
                self._recv = asyncio.ensure_future(self._ws.recv())
            queued = asyncio.ensure_future(self._queued.wait())
            done, _ = await asyncio.wait(
                {self._recv, queued}, timeout=self._wait(), return_when=asyncio.FIRST_COMPLETED
            )
            queued.cancel()
            if self._recv in done:
                received, self._recv = self._recv, None
                try:
                    frame = received.result()
                except websockets.ConnectionClosed as error:
                    raise ConnectionLostError(f"UW socket closed: {self._safe(error)}") from None
                self._last_frame = time.monotonic()
                if self.config.protocol == "phoenix":
                    self._phoenix_control(frame)
                return frame
            if queued in done:
                continue
            now = time.monotonic()
            if self.config.protocol == "phoenix" and now >= self._next_heartbeat:
                await self._heartbeat()
            if now - self._last_frame >= self.config.ping_after:
                await self._ping()
                return KEEPALIVE

    def _wait(self) -> float:
        now = time.monotonic()
        wait = self._last_frame + self.config.ping_after - now
        if self.config.protocol == "phoenix":
            wait = min(wait, self._next_heartbeat - now)
        return max(wait, 0.0)

    async def _ping(self) -> None:
        if self._ws is None:
            raise ConnectionLostError("not connected")
        try:
            pong = await self._ws.ping()
            await asyncio.wait_for(pong, self.config.pong_timeout)
        except TimeoutError:
            raise ConnectionLostError(
                f"no pong within {self.config.pong_timeout:g} s after {self.config.ping_after:g} s of silence"
            ) from None
        except websockets.WebSocketException as error:
            raise ConnectionLostError(f"UW socket lost while pinging: {self._safe(error)}") from None
        self._last_frame = time.monotonic()

    async def _heartbeat(self) -> None:
        if self._heartbeat_ref is not None:
            raise ConnectionLostError("Phoenix heartbeat timeout: the last heartbeat got no reply")
        self._heartbeat_ref = self._next_ref()
        await self._send([None, self._heartbeat_ref, "phoenix", "heartbeat", {}])
        self._next_heartbeat = time.monotonic() + self.config.heartbeat_interval

    def _phoenix_control(self, frame: bytes | str) -> None:
        """Heartbeat replies and channel errors (the frame still goes to the parser)."""
        raw = frame.encode() if isinstance(frame, str) else frame
        if b'"phoenix"' not in raw and b"phx_error" not in raw and b"phx_close" not in raw:
            return
        try:
            _, ref, topic, event, _ = msgspec.json.decode(raw)
        except (msgspec.DecodeError, ValueError, TypeError):
            return  # the parser dead-letters it
        if topic == "phoenix" and event == "phx_reply" and ref == self._heartbeat_ref:
            self._heartbeat_ref = None
        elif event in ("phx_error", "phx_close") and topic in self._joined:
            del self._joined[topic]
            if event == "phx_error":
                log.warning("uw.channel_error", channel=topic)
                self._rejoin.add(topic)

    def parse(self, message: bytes | str | BackfilledAlerts, *, ts_recv: int) -> list[UWMessage]:
        return framing.parse(message, ts_recv=ts_recv)

    # -- back-fill ----------------------------------------------------------------------------

    async def _backfill_alerts(self) -> None:
        try:
            newest = await asyncio.to_thread(self._newest_alert_ms)
            if newest is None:
                return  # nothing stored yet: no gap to fill
            alerts = await asyncio.to_thread(self._fetch_alerts_after, newest - BACKFILL_OVERLAP_MS)
        except (UWRestError, redis.RedisError) as error:
            # The next connection tries again; the alerts stay fetchable from UW meanwhile.
            log.warning("uw.backfill_failed", error=self._safe(error))
            return
        self.backfills += 1
        log.info("uw.backfill", alerts=len(alerts), newer_than_ms=newest - BACKFILL_OVERLAP_MS)
        if alerts:
            self._queue.append(BackfilledAlerts(tuple(alerts)))
            self._queued.set()

    def _newest_alert_ms(self) -> int | None:
        return flow_alert_newest_time_ms(client=get_redis(self.config.redis_url))

    def _fetch_alerts_after(self, after_ms: int) -> list[bytes]:
        alerts: list[bytes] = []
        for _ in range(BACKFILL_MAX_PAGES):
            page = self.rest.flow_alerts_newer_than(after_ms=after_ms, limit=self.config.backfill_limit)
            alerts += page
            times = []
            for raw in page:
                with contextlib.suppress(msgspec.ValidationError, msgspec.DecodeError):
                    times.append(_alert_time.decode(raw).executed_at)
            if len(page) < self.config.backfill_limit or not times or max(times) <= after_ms:
                break
            after_ms = max(times)
        return alerts

    # -- closing ------------------------------------------------------------------------------

    async def _drop(self) -> None:
        if self._recv is not None:
            self._recv.cancel()
            self._recv = None
        if self._ws is not None:
            ws, self._ws = self._ws, None
            with contextlib.suppress(Exception):
                await ws.close()

    async def close(self) -> None:
        await self._drop()
