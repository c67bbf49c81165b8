"""The tastytrade feed client: the SDK session for REST (OAuth, the quote token), and a DXLink
WebSocket client that speaks the frames the SDK's `DXLinkStreamer` speaks, plus what the SDK
cannot do (docs/architecture.md, "tastytrade"): depth from Order events, subscriptions chunked
under the server's frame limit, a reader that hands every raw frame to the runner (dead letters,
the heartbeat watchdog, the benchmark), and no reconnect of its own: the runner reconnects with
backoff and jitter, and records the gap.

The handshake (protocols.md section 2.5): SETUP -> SETUP + AUTH_STATE UNAUTHORIZED -> AUTH ->
AUTH_STATE AUTHORIZED -> per event type CHANNEL_REQUEST -> CHANNEL_OPENED -> FEED_SETUP; then
FEED_SUBSCRIPTION add/remove, and a KEEPALIVE every `keepalive_interval` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import msgspec
import structlog
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from apps.core.clock import utc_now
from apps.core.redaction import redact
from apps.marketdata.events import Event
from apps.marketdata.symbols import SymbolError, Venue, canonical, to_venue
from apps.monitoring import metrics
from streamers.feed import ConnectionLostError, MalformedMessageError
from streamers.tastytrade.config import TastytradeConfig
from streamers.tastytrade.dxlink import CHANNELS, DXLINK_VERSION, FIELDS, KEEPALIVE_TIMEOUT
from streamers.tastytrade.parsing import ParseContext, feed_data_events
from streamers.tastytrade.session import SessionStore, TastytradeSession
from streamers.tastytrade.stats import VendorStats

log = structlog.get_logger(__name__)

FEED = "tastytrade"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
# Control messages the reader handles itself; they reach `parse` only to count as liveness.
CONTROL = frozenset({"SETUP", "AUTH_STATE", "KEEPALIVE", "CHANNEL_OPENED", "CHANNEL_CLOSED", "FEED_CONFIG"})
MAX_FRAME = 16 * 2**20


def dxlink_symbol(symbol: str) -> str:
    """Our canonical symbol in DXLink's form: futures `/ESZ25:XCME`, other tickers as they are."""
    try:
        return to_venue(symbol, Venue.DXLINK)
    except SymbolError:
        return symbol


class TastytradeClient:
    name = FEED

    def __init__(
        self, config: TastytradeConfig, *, store: SessionStore | None = None, redis_url: str | None = None
    ) -> None:
        self.config = config
        self.session = TastytradeSession(config, store=store)
        self.event_types = self._event_types()
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._fatal: BaseException | None = None
        self._subscribed: set[str] = set()
        self._canonical: dict[str, str] = {}
        self._decoded: tuple[str | bytes, Any] | None = None
        self.depth_denied = False
        self.context = ParseContext(
            fields={}, types_by_channel={}, symbol_of=self._symbol_of, trades_from=config.trades_from
        )
        # Summary and Greeks: each symbol's latest, written beside the events (None: settings.REDIS_URL).
        self.stats = VendorStats(redis_url=redis_url, context=self.context)
        metrics.STREAMER_TOKEN_SECONDS_LEFT.labels(FEED, "access").set_function(
            lambda: max(0.0, self.session.token_expires_at - time.time())
        )
        metrics.STREAMER_TOKEN_SECONDS_LEFT.labels(FEED, "quote").set_function(
            lambda: 0.0 if self.session.quote is None else max(0.0, self.session.quote.expires_at - time.time())
        )

    def _event_types(self) -> list[str]:
        types = ["Quote", self.config.trades_from, "Summary", "Greeks"]
        if self.config.trades_from != "Trade":
            types.append("Trade")
        if self.config.depth:
            types.append("Order")
        return types

    # -- connection ----------------------------------------------------------------------------

    async def connect(self) -> None:
        await self.close()
        self._fatal = None
        await self.session.ensure_fresh()
        quote = await self.session.quote_token()
        try:
            self._ws = await ws_connect(
                quote.dxlink_url,
                open_timeout=self.config.handshake_timeout,
                max_size=MAX_FRAME,
                # DXLink has its own KEEPALIVE; a WebSocket ping would be a frame it does not expect.
                ping_interval=None,
            )
        except (OSError, websockets.WebSocketException, TimeoutError) as error:
            raise ConnectionLostError(f"cannot connect to DXLink at {redact(quote.dxlink_url)}: {error}") from error
        try:
            await asyncio.wait_for(self._handshake(quote.token), timeout=self.config.handshake_timeout * 3)
        except TimeoutError:
            raise ConnectionLostError("DXLink handshake timed out") from None
        except websockets.WebSocketException as error:
            raise ConnectionLostError(f"DXLink closed during the handshake: {error}") from error
        self._subscribed = set()
        self.context.books.reset()
        self._tasks = [
            asyncio.create_task(self._keepalive(), name="tastytrade-keepalive"),
            asyncio.create_task(self._token_refresh(), name="tastytrade-token"),
            asyncio.create_task(self.stats.write_periodically(), name="tastytrade-stats"),
        ]
        log.info("tastytrade.connected", url=redact(quote.dxlink_url), level=quote.level, types=self.event_types)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise ConnectionLostError("not connected")
        try:
            await self._ws.send(_encode(message).decode())
        except websockets.WebSocketException as error:
            raise ConnectionLostError(f"DXLink send failed: {error}") from error

    async def _next_control(self) -> dict[str, Any]:
        if self._ws is None:
            raise ConnectionLostError("not connected")
        while True:
            raw = await asyncio.wait_for(self._ws.recv(), timeout=self.config.handshake_timeout)
            message = _decode(raw)
            if isinstance(message, dict):
                metrics.STREAMER_MESSAGES_BY_TYPE.labels(FEED, str(message.get("type"))[:32]).inc()
                if message.get("type") == "ERROR":
                    raise ConnectionLostError(
                        f"DXLink ERROR during the handshake: {message.get('error')}: {message.get('message')}"
                    )
                return message

    async def _handshake(self, token: str) -> None:
        await self._send(
            {
                "type": "SETUP",
                "channel": 0,
                "keepaliveTimeout": KEEPALIVE_TIMEOUT,
                # The SDK accepts 60 s; we ask for less so the watchdog hears from a quiet feed.
                "acceptKeepaliveTimeout": self.config.server_keepalive,
                "version": DXLINK_VERSION,
            }
        )
        sent_auth = False
        while True:
            message = await self._next_control()
            if message.get("type") != "AUTH_STATE":
                continue
            if message.get("state") == "AUTHORIZED":
                break
            if sent_auth:
                # The server refused the quote token (expired, or revoked): fetch a new one next time.
                self.session.forget_quote_token()
                raise ConnectionLostError("DXLink refused the quote token (AUTH_STATE UNAUTHORIZED after AUTH)")
            await self._send({"type": "AUTH", "channel": 0, "token": token})
            sent_auth = True
        for event_type in self.event_types:
            await self._send(
                {
                    "type": "CHANNEL_REQUEST",
                    "channel": CHANNELS[event_type],
                    "service": "FEED",
                    "parameters": {"contract": "AUTO"},
                }
            )
        opened: set[int] = set()
        wanted = {CHANNELS[event_type] for event_type in self.event_types}
        while opened != wanted:
            message = await self._next_control()
            if message.get("type") == "CHANNEL_OPENED" and message.get("channel") in wanted:
                opened.add(message["channel"])
        self.configure_channels()
        for event_type in self.event_types:
            channel = CHANNELS[event_type]
            await self._send(
                {
                    "type": "FEED_SETUP",
                    "channel": channel,
                    "acceptAggregationPeriod": self.config.aggregation_period,
                    "acceptDataFormat": "COMPACT",
                    "acceptEventFields": {event_type: list(FIELDS[event_type])},
                }
            )

    def configure_channels(self) -> None:
        """The parser's view of a fresh connection: each event type on its channel, with the
        fields our FEED_SETUP asks for (until a FEED_CONFIG names others)."""
        self.context.types_by_channel = {CHANNELS[event_type]: event_type for event_type in self.event_types}
        self.context.fields = {
            CHANNELS[event_type]: {event_type: FIELDS[event_type]} for event_type in self.event_types
        }

    async def _keepalive(self) -> None:
        try:
            while True:
                await self._send({"type": "KEEPALIVE", "channel": 0})
                await asyncio.sleep(self.config.keepalive_interval)
        except ConnectionLostError:
            return

    async def _token_refresh(self) -> None:
        try:
            await self.session.keep_fresh()
        except Exception as error:  # noqa: BLE001 - handed to receive(), which raises it in the runner
            self._fatal = error
            if self._ws is not None:
                await self._ws.close()

    # -- subscriptions -------------------------------------------------------------------------

    def _symbol_of(self, dx_symbol: str) -> str:
        known = self._canonical.get(dx_symbol)
        if known is not None:
            return known
        try:
            symbol = canonical(dx_symbol, at=utc_now())
        except SymbolError as error:
            raise MalformedMessageError("unknown_symbol", str(error), "eventSymbol") from None
        self._canonical[dx_symbol] = symbol
        return symbol

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Subscribe to these canonical symbols and drop the others, in chunks of
        `subscription_chunk` items per FEED_SUBSCRIPTION."""
        wanted = {dxlink_symbol(symbol): symbol for symbol in symbols}
        self._canonical.update(wanted)
        if set(wanted) == self._subscribed:
            # The same symbols again is the operator's "resubscribe": send every one anew (an add
            # of a symbol already subscribed changes nothing at the server).
            self._subscribed = set()
        added = sorted(set(wanted) - self._subscribed)
        removed = sorted(self._subscribed - set(wanted))
        for action, dx_symbols in (("remove", removed), ("add", added)):
            for event_type in self.event_types:
                if event_type == "Order" and self.depth_denied:
                    continue
                items = [{"type": event_type, "symbol": symbol} for symbol in dx_symbols]
                for start in range(0, len(items), self.config.subscription_chunk):
                    await self._send(
                        {
                            "type": "FEED_SUBSCRIPTION",
                            "channel": CHANNELS[event_type],
                            action: items[start : start + self.config.subscription_chunk],
                        }
                    )
        self._subscribed = set(wanted)
        if added or removed:
            log.info("tastytrade.subscribed", added=added, removed=removed)

    # -- receiving -----------------------------------------------------------------------------

    async def receive(self) -> str | bytes:
        if self._fatal is not None:
            raise self._fatal
        if self._ws is None:
            raise ConnectionLostError("not connected")
        try:
            raw = await self._ws.recv()
        except websockets.ConnectionClosed as error:
            if self._fatal is not None:
                raise self._fatal from None
            if error.rcvd is not None and error.rcvd.code == 1009:
                raise ConnectionLostError(
                    "DXLink closed the connection: a message was too long (1009); lower --subscription-chunk"
                ) from error
            raise ConnectionLostError(f"DXLink connection lost: {error}") from error
        except websockets.WebSocketException as error:
            raise ConnectionLostError(f"DXLink connection lost: {error}") from error
        try:
            message = _decode(raw)
        except msgspec.DecodeError:
            return raw  # parse dead-letters it
        self._decoded = (raw, message)
        if isinstance(message, dict):
            await self._control(message)
        return raw

    async def _control(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        metrics.STREAMER_MESSAGES_BY_TYPE.labels(FEED, str(kind)[:32]).inc()
        if kind == "AUTH_STATE" and message.get("state") == "UNAUTHORIZED":
            self.session.forget_quote_token()
            raise ConnectionLostError(
                "DXLink revoked the session (AUTH_STATE UNAUTHORIZED): reconnecting with a new quote token"
            )
        if kind == "CHANNEL_CLOSED" and message.get("channel") in self.context.types_by_channel:
            raise ConnectionLostError(f"DXLink closed channel {message.get('channel')}")
        if kind == "FEED_CONFIG" and isinstance(message.get("eventFields"), dict):
            channel = message.get("channel")
            if isinstance(channel, int) and channel in self.context.types_by_channel:
                self.context.fields[channel] = {
                    str(name): tuple(str(f) for f in fields)
                    for name, fields in message["eventFields"].items()
                    if isinstance(fields, list)
                }
        if kind == "ERROR" and message.get("channel") == CHANNELS["Order"] and "Order" in self.event_types:
            if not self.depth_denied:
                log.warning(
                    "tastytrade.depth_not_entitled",
                    error=message.get("error"),
                    message=message.get("message"),
                    hint="this account does not get Order events; the streamer goes on without depth",
                )
            self.depth_denied = True
        elif kind == "ERROR" and message.get("channel", 0) == 0:
            raise ConnectionLostError(f"DXLink ERROR {message.get('error')}: {message.get('message')}")

    def parse(self, raw: str | bytes, *, ts_recv: int) -> list[Event]:
        cached, self._decoded = self._decoded, None
        if cached is not None and cached[0] is raw:
            message = cached[1]
        else:
            try:
                message = _decode(raw)
            except msgspec.DecodeError as error:
                raise MalformedMessageError("invalid_json", str(error), "frame") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise MalformedMessageError("not_a_message", "a DXLink message is an object with a type", "$")
        kind = message["type"]
        if kind == "FEED_DATA":
            before = dict(self.context.rows_by_type)
            events = feed_data_events(message, self.context, ts_recv=ts_recv)
            for event_type, rows in self.context.rows_by_type.items():
                if rows != before.get(event_type, 0):
                    metrics.STREAMER_VENDOR_EVENTS.labels(FEED, event_type).inc(rows - before.get(event_type, 0))
            return events
        if kind == "FEED_CONFIG":
            return self._check_feed_config(message)
        if kind in CONTROL:
            return []
        if kind == "ERROR":
            raise MalformedMessageError(
                f"server_error:{message.get('error')}"[:60],
                str(message.get("message", ""))[:200],
                f"channel {message.get('channel')}",
            )
        raise MalformedMessageError(f"unknown_message_type:{kind}"[:60], f"no handler for {kind!r}", "$.type")

    def _check_feed_config(self, message: dict[str, Any]) -> list[Event]:
        """Fields the server sends that we never asked for are adopted (the data still parses, by
        name) and the FEED_CONFIG is dead-lettered once per kind, so the surprise is seen."""
        announced = message.get("eventFields")
        if not isinstance(announced, dict):
            return []
        for event_type, fields in announced.items():
            unknown = sorted(set(fields) - set(FIELDS.get(event_type, ()))) if isinstance(fields, list) else []
            if unknown:
                raise MalformedMessageError(
                    f"unknown_field:{event_type}"[:60],
                    f"fields we did not ask for: {', '.join(map(str, unknown))}",
                    "eventFields",
                )
        return []

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._ws is not None:
            ws, self._ws = self._ws, None
            with contextlib.suppress(Exception):
                await ws.close()
        await self.stats.close()
