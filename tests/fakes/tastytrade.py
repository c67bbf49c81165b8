"""A faithful fake of tastytrade: its REST API and its DXLink market-data WebSocket, over real
HTTP and WebSocket on 127.0.0.1 (one aiohttp server, in a thread of its own).

REST (protocols.md section 2.2-2.4, 2.8-2.9): `POST /oauth/token` takes the SDK's JSON body
(grant_type, client_secret, refresh_token) and hands out short-lived access tokens; every other
endpoint requires `Authorization: Bearer <access token>` and answers `{"data": ..., "context": ...}`,
or `{"error": {"code", "message"}}` with a 4xx. `GET /customers/me/accounts`,
`GET /api-quote-tokens` (its `dxlink-url` points at this server's `/realtime`),
`GET /instruments/futures/{symbol}`, and the orders: `POST /accounts/{a}/orders/dry-run`,
`POST /accounts/{a}/orders`, `GET /accounts/{a}/orders/{id}`, `GET /accounts/{a}/orders/live`,
`DELETE /accounts/{a}/orders/{id}` (every placed order is counted in `placed_orders`).

DXLink (section 2.5, 2.9): SETUP -> SETUP + AUTH_STATE UNAUTHORIZED; AUTH with the quote token ->
AUTHORIZED (UNAUTHORIZED with any other); CHANNEL_REQUEST -> CHANNEL_OPENED on the same channel;
FEED_SETUP -> FEED_CONFIG, its acceptEventFields remembered per channel; FEED_SUBSCRIPTION
add/remove/reset; CHANNEL_CANCEL -> CHANNEL_CLOSED; KEEPALIVE both ways (the connection is closed
when the client's stop for `keepalive_timeout`); messages over `max_message` bytes closed with 1009.
Published events go out as COMPACT FEED_DATA, each row in the field order the channel asked for,
"NaN" for what the event lacks. An account without depth gets an ERROR on the Order channel.

Tests script the rest: `publish(...)` events, `drop_connections()` (abrupt: the socket is cut,
no close frame), `close_connections(code)` (1012 "Reconnection is required", 1011), `send_raw`
(malformed frames), `rate_limit(times)` (429s), `revoke_refresh_token()`, `access_ttl`.
Every FEED_DATA row sent is recorded in `sent` with its connection number, so a test can check
that each event sent before a drop reached Redis exactly once.

    with FakeTastytrade() as fake:
        ... TastytradeConfig(api_url=fake.base_url, client_secret=FAKE_CLIENT_SECRET,
                             refresh_token=FAKE_REFRESH_TOKEN) ...

For a demo: `python -m tests.fakes.tastytrade --port 8767` serves a seeded simulated market (the
simulator's model) until interrupted; point TASTYTRADE_API_URL at it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

FAKE_CLIENT_SECRET = "fake-client-secret-0123456789abcdef"
FAKE_REFRESH_TOKEN = "fake-refresh-token-0123456789abcdef"
FAKE_ACCOUNT = "5WT00001"
SERVER_VERSION = "1.0-1.2.1-20240722-153442"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _data(data: Any, context: str) -> web.Response:
    return web.json_response({"data": data, "context": context})


@dataclass
class Connection:
    number: int
    ws: web.WebSocketResponse
    request: web.Request
    authorized: bool = False
    # channel -> {event type -> fields}, as its FEED_SETUP asked
    fields: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    opened: set[int] = field(default_factory=set)
    # channel -> {(type, symbol)}
    subscriptions: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    last_keepalive: float = field(default_factory=time.monotonic)
    last_sent: float = field(default_factory=time.monotonic)
    # The client's SETUP acceptKeepaliveTimeout: the longest it accepts hearing nothing.
    accept_keepalive: float = 60.0
    closed: bool = False


@dataclass
class SentRow:
    connection: int
    event_type: str
    symbol: str
    row: dict[str, Any]


class FakeTastytrade:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_ttl: int = 900,
        keepalive_timeout: float = 60.0,
        server_keepalive: float = 30.0,
        max_message: int = 64 * 1024,
        depth_entitled: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.access_ttl = access_ttl
        self.keepalive_timeout = keepalive_timeout
        self.server_keepalive = server_keepalive
        self.max_message = max_message
        self.depth_entitled = depth_entitled
        self.client_secret = FAKE_CLIENT_SECRET
        self.refresh_token = FAKE_REFRESH_TOKEN
        self.refresh_revoked = False
        self.access_tokens: dict[str, float] = {}
        self.quote_token = "dxlink-" + secrets.token_hex(8)
        self.token_grants = 0
        self.quote_token_requests = 0
        self.rate_limited = 0
        self.requests: list[tuple[str, str]] = []
        self.connections: list[Connection] = []
        self.sent: list[SentRow] = []
        self.placed_orders: list[dict[str, Any]] = []
        self.orders: dict[int, dict[str, Any]] = {}
        # Trading (the bot's tests): net position per order symbol and the day's realized P&L,
        # moved by `fill`; scripted order failures (status, code, message) answered by the next
        # dry-run or place calls; a delay before order answers (a broker timing out).
        self.positions: dict[str, int] = {}
        self.realized_today: dict[str, float] = {}
        self.order_failures: list[tuple[int, str, str]] = []
        self.order_delay = 0.0
        # Seconds between taking an order and answering (the answer lost to a client's timeout).
        self.answer_delay = 0.0
        # Futures roots the instruments endpoint knows; any other symbol is 404 as at tastytrade.
        self.future_roots = {"ES", "MES", "NQ", "MNQ", "RTY", "YM", "CL", "GC"}
        self.dry_runs = 0
        # Called (on the fake's thread) when the positions are read: a test's way to change the
        # world between a service's checks, as an admin acting at that moment would.
        self.on_positions: Callable[[], None] | None = None
        self._order_ids = itertools.count(1001)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.base_url = ""

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> FakeTastytrade:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> str:
        self._thread = threading.Thread(target=self._serve, name="fake-tastytrade", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake tastytrade server did not start")
        return self.base_url

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self._start_app())
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._stop_app())
        loop.close()

    async def _start_app(self) -> None:
        app = web.Application()
        app.router.add_post("/oauth/token", self._oauth_token)
        app.router.add_get("/customers/me/accounts", self._accounts)
        app.router.add_get("/api-quote-tokens", self._quote_tokens)
        app.router.add_get("/instruments/futures/{symbol}", self._future)
        app.router.add_post("/accounts/{account}/orders/dry-run", self._dry_run)
        app.router.add_post("/accounts/{account}/orders", self._place)
        app.router.add_get("/accounts/{account}/orders/live", self._live_orders)
        app.router.add_get("/accounts/{account}/orders", self._all_orders)
        app.router.add_get("/accounts/{account}/positions", self._positions)
        app.router.add_get("/accounts/{account}/orders/{order_id}", self._order)
        app.router.add_delete("/accounts/{account}/orders/{order_id}", self._cancel)
        app.router.add_get("/realtime", self._dxlink)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self._keepalive_task = asyncio.ensure_future(self._keepalives())

    async def _stop_app(self) -> None:
        self._keepalive_task.cancel()
        for connection in list(self.connections):
            if not connection.closed:
                await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def call(self, function: Callable[[], Any]) -> Any:
        """Run `function` (a coroutine function or a plain one) on the server's loop, from any thread."""
        if self._loop is None:
            raise RuntimeError("not started")

        async def run() -> Any:
            result = function()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    # -- REST ----------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.method, request.path))
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        expires = self.access_tokens.get(token)
        if not header.startswith("Bearer ") or expires is None or expires < time.time():
            return _error(401, "unauthorized", "Token is invalid or expired")
        return None

    async def _oauth_token(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return _error(429, "too_many_requests", "Rate limit exceeded, slow down")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid_request", "The body must be JSON")
        if not isinstance(body, dict) or body.get("grant_type") != "refresh_token":
            return _error(400, "unsupported_grant_type", "grant_type must be refresh_token")
        if body.get("client_secret") != self.client_secret:
            return _error(401, "invalid_client", "Client authentication failed")
        if body.get("refresh_token") != self.refresh_token or self.refresh_revoked:
            return _error(401, "invalid_grant", "The refresh token is invalid, expired or revoked")
        token = "access-" + secrets.token_hex(16)
        self.access_tokens[token] = time.time() + self.access_ttl
        self.token_grants += 1
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.access_ttl, "scope": "read trade"}
        )

    async def _accounts(self, request: web.Request) -> web.Response:
        if refused := self._authorized(request):
            return refused
        account = {
            "account-number": FAKE_ACCOUNT,
            "opened-at": "2024-01-02T15:00:00.000+00:00",
            "nickname": "Individual",
            "account-type-name": "Individual",
            "is-closed": False,
            "day-trader-status": False,
            "is-firm-error": False,
            "is-firm-proprietary": False,
            "is-futures-approved": True,
            "is-test-drive": False,
            "margin-or-cash": "Margin",
            "is-foreign": False,
            "created-at": "2024-01-02T15:00:00.000+00:00",
            "suitable-options-level": "No Restrictions",
        }
        return _data({"items": [{"account": account, "authority-level": "owner"}]}, "/customers/me/accounts")

    async def _quote_tokens(self, request: web.Request) -> web.Response:
        if refused := self._authorized(request):
            return refused
        self.quote_token_requests += 1
        return _data(
            {"token": self.quote_token, "dxlink-url": f"ws://{self.host}:{self.port}/realtime", "level": "api"},
            "/api-quote-tokens",
        )

    async def _future(self, request: web.Request) -> web.Response:
        if refused := self._authorized(request):
            return refused
        symbol = request.match_info["symbol"]
        root, code = symbol[:-2].lstrip("/"), symbol[-2:]
        if root not in self.future_roots or len(code) != 2 or not code[1].isdigit():
            return _error(404, "record_not_found", f"Future {symbol} not found")
        return _data(
            {
                "symbol": symbol,
                "product-code": root,
                "contract-size": "50.0",
                "tick-size": "0.25",
                "notional-multiplier": "50.0",
                "main-fraction": "0.0",
                "sub-fraction": "0.0",
                "display-factor": "0.01",
                "last-trade-date": "2026-12-18",
                "expiration-date": "2026-12-18",
                "closing-only-date": "2026-12-18",
                "active": True,
                "active-month": True,
                "next-active-month": False,
                "is-closing-only": False,
                "stops-trading-at": "2026-12-18T14:30:00.000+00:00",
                "expires-at": "2026-12-18T14:30:00.000+00:00",
                "product-group": "CME_ES",
                "exchange": "CME",
                "roll-target-symbol": f"/{root}H7",
                "streamer-exchange-code": "XCME",
                "streamer-symbol": f"/{root}{code[0]}2{code[1]}:XCME",
                "back-month-first-calendar-symbol": False,
                "is-tradeable": True,
                "future-product": None,
                "instrument-type": "Future",
            },
            f"/instruments/futures/{symbol}",
        )

    def _order_from(self, body: dict[str, Any], *, status: str, order_id: int | None) -> dict[str, Any]:
        legs = body.get("legs") or []
        symbol = str(legs[0].get("symbol", "")) if legs else ""
        order: dict[str, Any] = {
            "account-number": FAKE_ACCOUNT,
            "time-in-force": body.get("time-in-force", "Day"),
            "order-type": body.get("order-type", "Limit"),
            "size": str(sum(int(leg.get("quantity", 0)) for leg in legs)),
            "underlying-symbol": symbol[:-2] if symbol.startswith("/") else symbol,
            "underlying-instrument-type": legs[0].get("instrument-type", "Future") if legs else "Future",
            "status": status,
            "cancellable": True,
            "editable": True,
            "edited": False,
            "updated-at": _now_iso(),
            "legs": [{**leg, "remaining-quantity": leg.get("quantity"), "fills": []} for leg in legs],
        }
        for key in ("price", "price-effect", "stop-trigger", "value", "value-effect", "external-identifier"):
            if key in body:
                order[key] = body[key]
        if order_id is not None:
            order["id"] = order_id
            order["received-at"] = _now_iso()
        return order

    @staticmethod
    def _effects(body: dict[str, Any]) -> dict[str, Any]:
        legs = body.get("legs") or []
        quantity = sum(int(leg.get("quantity", 0)) for leg in legs) or 1
        margin = f"{12_650 * quantity:.2f}"
        return {
            "buying-power-effect": {
                "change-in-margin-requirement": margin,
                "change-in-margin-requirement-effect": "Debit",
                "change-in-buying-power": margin,
                "change-in-buying-power-effect": "Debit",
                "current-buying-power": "100000.00",
                "current-buying-power-effect": "Credit",
                "new-buying-power": f"{100_000 - 12_650 * quantity:.2f}",
                "new-buying-power-effect": "Credit",
                "isolated-order-margin-requirement": margin,
                "isolated-order-margin-requirement-effect": "Debit",
                "is-spread": False,
                "impact": margin,
                "effect": "Debit",
            },
            "fee-calculation": {
                "regulatory-fees": f"{0.02 * quantity:.2f}",
                "regulatory-fees-effect": "Debit",
                "clearing-fees": f"{0.30 * quantity:.2f}",
                "clearing-fees-effect": "Debit",
                "commission": f"{1.25 * quantity:.2f}",
                "commission-effect": "Debit",
                "proprietary-index-option-fees": "0.00",
                "proprietary-index-option-fees-effect": "None",
                "total-fees": f"{1.57 * quantity:.2f}",
                "total-fees-effect": "Debit",
            },
            "warnings": [],
        }

    async def _order_body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if refused := self._authorized(request):
            return refused
        if request.match_info["account"] != FAKE_ACCOUNT:
            return _error(404, "record_not_found", f"Account {request.match_info['account']} not found")
        if self.order_delay:
            await asyncio.sleep(self.order_delay)
        if self.order_failures:
            status, code, message = self.order_failures.pop(0)
            return _error(status, code, message)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid_json", "The order is not JSON")
        legs = body.get("legs") if isinstance(body, dict) else None
        if not legs or not all(isinstance(leg, dict) and leg.get("symbol") and leg.get("action") for leg in legs):
            return _error(422, "validation_error", "An order needs legs with a symbol, an action and a quantity")
        return dict(body)

    async def _dry_run(self, request: web.Request) -> web.Response:
        body = await self._order_body(request)
        if isinstance(body, web.Response):
            return body
        self.dry_runs += 1
        order = self._order_from(body, status="Received", order_id=None)
        return _data({"order": order, **self._effects(body)}, request.path)

    async def _place(self, request: web.Request) -> web.Response:
        body = await self._order_body(request)
        if isinstance(body, web.Response):
            return body
        order = self._order_from(body, status="Routed", order_id=next(self._order_ids))
        with self._lock:
            self.placed_orders.append(body)
            self.orders[order["id"]] = order
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return _data({"order": order, **self._effects(body)}, request.path)

    async def _live_orders(self, request: web.Request) -> web.Response:
        if refused := self._authorized(request):
            return refused
        live = [order for order in self.orders.values() if order["status"] not in ("Cancelled", "Filled")]
        return _data({"items": live}, request.path)

    async def _all_orders(self, request: web.Request) -> web.Response:
        """The account's orders of the day, whatever their status (newest first)."""
        if refused := self._authorized(request):
            return refused
        items = sorted(self.orders.values(), key=lambda order: -int(order["id"]))
        return _data({"items": items}, request.path)

    async def _order(self, request: web.Request) -> web.Response:
        if refused := self._authorized(request):
            return refused
        order = self.orders.get(int(request.match_info["order_id"]) if request.match_info["order_id"].isdigit() else -1)
        if order is None:
            return _error(404, "record_not_found", "Order not found")
        return _data(order, request.path)

    async def _cancel(self, request: web.Request) -> web.Response:
        if refused := self._authorized(request):
            return refused
        order = self.orders.get(int(request.match_info["order_id"]) if request.match_info["order_id"].isdigit() else -1)
        if order is None:
            return _error(404, "record_not_found", "Order not found")
        order["status"] = "Cancelled"
        return _data(order, request.path)

    async def _positions(self, request: web.Request) -> web.Response:
        if refused := self._authorized(request):
            return refused
        if self.on_positions is not None:
            await asyncio.to_thread(self.on_positions)
        items = []
        for symbol in sorted(set(self.positions) | set(self.realized_today)):
            quantity = self.positions.get(symbol, 0)
            realized = self.realized_today.get(symbol, 0.0)
            items.append(
                {
                    "account-number": FAKE_ACCOUNT,
                    "symbol": symbol,
                    "instrument-type": "Future",
                    "underlying-symbol": symbol[:-2],
                    "quantity": str(abs(quantity)),
                    "quantity-direction": "Long" if quantity > 0 else "Short" if quantity < 0 else "Zero",
                    "close-price": "0.0",
                    "average-open-price": "0.0",
                    "multiplier": "50.0",
                    "cost-effect": "Debit",
                    "is-suppressed": False,
                    "is-frozen": False,
                    "realized-day-gain": f"{abs(realized):.2f}",
                    "realized-day-gain-effect": "Credit" if realized >= 0 else "Debit",
                    "realized-today": f"{abs(realized):.2f}",
                    "realized-today-effect": "Credit" if realized >= 0 else "Debit",
                    "created-at": _now_iso(),
                    "updated-at": _now_iso(),
                }
            )
        return _data({"items": items}, request.path)

    def fill(self, order_id: int, *, realized: float = 0.0) -> None:
        """Fills a placed order: the position moves by its legs, `realized` is added to the day's P&L."""
        with self._lock:
            order = self.orders[order_id]
            order["status"] = "Filled"
            for leg in order["legs"]:
                sign = 1 if str(leg.get("action", "")).startswith("Buy") else -1
                symbol = str(leg["symbol"])
                self.positions[symbol] = self.positions.get(symbol, 0) + sign * int(leg.get("quantity", 0))
                self.realized_today[symbol] = self.realized_today.get(symbol, 0.0) + realized
                leg["remaining-quantity"] = 0

    def set_status(self, order_id: int, status: str) -> None:
        with self._lock:
            self.orders[order_id]["status"] = status

    # -- DXLink --------------------------------------------------------------------------------

    async def _dxlink(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=self.max_message, autoping=True)
        await ws.prepare(request)
        connection = Connection(number=len(self.connections) + 1, ws=ws, request=request)
        self.connections.append(connection)
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(frame.data)
                except json.JSONDecodeError:
                    await self._send(
                        connection, {"type": "ERROR", "channel": 0, "error": "INVALID_MESSAGE", "message": "not JSON"}
                    )
                    continue
                connection.received.append(message)
                await self._on_message(connection, message)
        finally:
            connection.closed = True
        return ws

    async def _send(self, connection: Connection, message: dict[str, Any]) -> None:
        if not connection.closed and not connection.ws.closed:
            connection.last_sent = time.monotonic()
            await connection.ws.send_str(json.dumps(message, separators=(",", ":")))

    async def _on_message(self, connection: Connection, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel", 0)
        if kind == "SETUP":
            accept = message.get("acceptKeepaliveTimeout")
            if isinstance(accept, int | float) and accept > 0:
                connection.accept_keepalive = float(accept)
            await self._on_setup(connection)
        elif kind == "AUTH":
            await self._on_auth(connection, message)
        elif kind == "KEEPALIVE":
            connection.last_keepalive = time.monotonic()
        elif not connection.authorized:
            await self._error(connection, channel, "UNAUTHORIZED", "authorize first")
        elif kind == "CHANNEL_REQUEST":
            await self._on_channel_request(connection, message, channel)
        elif kind == "CHANNEL_CANCEL":
            connection.opened.discard(channel)
            connection.subscriptions.pop(channel, None)
            await self._send(connection, {"type": "CHANNEL_CLOSED", "channel": channel})
        elif kind == "FEED_SETUP" and channel in connection.opened:
            for event_type, fields in (message.get("acceptEventFields") or {}).items():
                connection.fields.setdefault(channel, {})[event_type] = list(fields)
            aggregation = message.get("acceptAggregationPeriod", 0.1)
            await self._send(
                connection,
                {"type": "FEED_CONFIG", "channel": channel, "dataFormat": "COMPACT", "aggregationPeriod": aggregation},
            )
        elif kind == "FEED_SUBSCRIPTION" and channel in connection.opened:
            await self._on_subscription(connection, message, channel)
        else:
            await self._error(connection, channel, "BAD_ACTION", f"unexpected {kind}")

    async def _error(self, connection: Connection, channel: Any, error: str, message: str) -> None:
        await self._send(connection, {"type": "ERROR", "channel": channel, "error": error, "message": message})

    async def _on_setup(self, connection: Connection) -> None:
        timeout = int(self.keepalive_timeout)
        await self._send(
            connection,
            {
                "type": "SETUP",
                "channel": 0,
                "keepaliveTimeout": timeout,
                "acceptKeepaliveTimeout": timeout,
                "version": SERVER_VERSION,
            },
        )
        await self._send(connection, {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})

    async def _on_auth(self, connection: Connection, message: dict[str, Any]) -> None:
        connection.authorized = message.get("token") == self.quote_token
        reply: dict[str, Any] = {
            "type": "AUTH_STATE",
            "channel": 0,
            "state": "AUTHORIZED" if connection.authorized else "UNAUTHORIZED",
        }
        if connection.authorized:
            reply["userId"] = "fake-user"
        await self._send(connection, reply)

    async def _on_channel_request(self, connection: Connection, message: dict[str, Any], channel: Any) -> None:
        if message.get("service") != "FEED":
            await self._error(connection, channel, "UNSUPPORTED", "only the FEED service")
            return
        connection.opened.add(channel)
        parameters = {"contract": "AUTO", "subFormat": "LIST"}
        await self._send(
            connection, {"type": "CHANNEL_OPENED", "channel": channel, "service": "FEED", "parameters": parameters}
        )

    async def _on_subscription(self, connection: Connection, message: dict[str, Any], channel: Any) -> None:
        current = connection.subscriptions.setdefault(channel, set())
        if message.get("reset"):
            current.clear()
        for item in message.get("remove") or []:
            current.discard((item.get("type"), item.get("symbol")))
        for item in message.get("add") or []:
            if item.get("type") == "Order" and not self.depth_entitled:
                await self._error(
                    connection, channel, "UNAUTHORIZED", "Order events are not available for this account"
                )
                return
            current.add((item.get("type"), item.get("symbol")))

    async def _keepalives(self) -> None:
        """Close a connection whose client sent no KEEPALIVE within `keepalive_timeout`; send
        one to each that heard nothing for `server_keepalive` or half its acceptKeepaliveTimeout."""
        tick = min(0.25, self.keepalive_timeout / 4)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for connection in list(self.connections):
                if connection.closed:
                    continue
                if now - connection.last_keepalive > self.keepalive_timeout:
                    await self._error(connection, 0, "TIMEOUT", "no keepalive")
                    await connection.ws.close(code=1011, message=b"keepalive timeout")
                    connection.closed = True
                elif now - connection.last_sent >= min(self.server_keepalive, connection.accept_keepalive / 2):
                    await self._send(connection, {"type": "KEEPALIVE", "channel": 0})

    # -- publishing ----------------------------------------------------------------------------

    def live(self) -> list[Connection]:
        return [connection for connection in self.connections if not connection.closed and not connection.ws.closed]

    async def publish_async(self, event_type: str, rows: Iterable[dict[str, Any]]) -> int:
        """Send each row (a dict with at least eventSymbol) to every connection subscribed to its
        (type, symbol), as one FEED_DATA per channel in that channel's field order. Returns the
        number of rows sent."""
        rows = list(rows)
        sent = 0
        for connection in self.live():
            for channel, subscribed in connection.subscriptions.items():
                fields = connection.fields.get(channel, {}).get(event_type)
                if fields is None:
                    continue
                chosen = [row for row in rows if (event_type, row["eventSymbol"]) in subscribed]
                if not chosen:
                    continue
                values: list[Any] = []
                for row in chosen:
                    values += [_compact(row.get(name)) for name in fields]
                await self._send(connection, {"type": "FEED_DATA", "channel": channel, "data": [event_type, values]})
                self.sent += [SentRow(connection.number, event_type, row["eventSymbol"], row) for row in chosen]
                sent += len(chosen)
        return sent

    def publish(self, event_type: str, rows: Iterable[dict[str, Any]]) -> int:
        rows = list(rows)
        return int(self.call(lambda: self.publish_async(event_type, rows)))

    def subscribed(self, event_type: str, symbol: str) -> bool:
        return any((event_type, symbol) in subscribed for c in self.live() for subscribed in c.subscriptions.values())

    def drop_connections(self) -> None:
        """Cut every DXLink connection the way a network failure does: no close frame."""

        def cut() -> None:
            for connection in self.live():
                connection.closed = True
                transport = connection.request.transport
                if transport is not None:
                    transport.abort()

        self.call(cut)

    def close_connections(self, code: int = 1012, reason: str = "Reconnection is required") -> None:
        async def close() -> None:
            for connection in self.live():
                connection.closed = True
                await connection.ws.close(code=code, message=reason.encode())

        self.call(close)

    def send_raw(self, text: str) -> None:
        async def send() -> None:
            for connection in self.live():
                await connection.ws.send_str(text)

        self.call(send)

    def rate_limit(self, times: int) -> None:
        self.rate_limited = times

    def revoke_refresh_token(self) -> None:
        self.refresh_revoked = True

    def expire_access_tokens(self) -> None:
        self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)


def _compact(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    return value


# -- DXLink events for a scripted market ---------------------------------------------------------


def time_and_sale(
    *, symbol: str, ts_ns: int, price: float, size: int, side: str, index: int, sequence: int = 0
) -> dict[str, Any]:
    """A TimeAndSale row (dxFeed names), `side` BUY / SELL / UNDEFINED; the bid and ask at the
    print are the touch it hit (a buyer lifts the ask, a seller hits the bid; ticks of 0.25)."""
    ms, nano = divmod(ts_ns, 1_000_000)
    bid, ask = (price - 0.25, price) if side == "BUY" else (price, price + 0.25)
    return {
        "eventSymbol": symbol,
        "eventTime": 0,
        "eventFlags": 0,
        "index": index,
        "time": ms,
        "timeNanoPart": nano,
        "sequence": sequence,
        "exchangeCode": "X",
        "price": price,
        "size": float(size),
        "bidPrice": bid,
        "askPrice": ask,
        "tradeThroughExempt": "0",
        "aggressorSide": side,
        "spreadLeg": False,
        "extendedTradingHours": False,
        "validTick": True,
        "type": "NEW",
        "buyer": None,
        "seller": None,
        "exchangeSaleConditions": None,
    }


def last_sale(*, symbol: str, ts_ns: int, price: float, size: int, sequence: int, day_volume: int) -> dict[str, Any]:
    ms, nano = divmod(ts_ns, 1_000_000)
    return {
        "eventSymbol": symbol,
        "eventTime": 0,
        "time": ms,
        "timeNanoPart": nano,
        "sequence": sequence,
        "exchangeCode": "X",
        "dayId": int(ms // 86_400_000),
        "tickDirection": "ZERO",
        "extendedTradingHours": False,
        "price": price,
        "change": None,
        "size": float(size),
        "dayVolume": float(day_volume),
        "dayTurnover": None,
    }


def quote(*, symbol: str, ts_ns: int, bid: float, bid_size: int, ask: float, ask_size: int) -> dict[str, Any]:
    ms = ts_ns // 1_000_000
    return {
        "eventSymbol": symbol,
        "eventTime": 0,
        "sequence": 0,
        "timeNanoPart": 0,
        "bidTime": ms,
        "bidExchangeCode": "X",
        "askTime": ms,
        "askExchangeCode": "X",
        "bidPrice": bid,
        "askPrice": ask,
        "bidSize": float(bid_size),
        "askSize": float(ask_size),
    }


def order(
    *, symbol: str, ts_ns: int, index: int, side: str, price: float, size: float, flags: int = 0
) -> dict[str, Any]:
    """An Order row: one price level (scope PRICE_LEVEL) keyed by `index`; size 0 removes it."""
    return {
        "eventSymbol": symbol,
        "eventTime": 0,
        "eventFlags": flags,
        "index": index,
        "time": ts_ns // 1_000_000,
        "sequence": 0,
        "price": price,
        "size": size,
        "count": 1,
        "side": side,
        "scope": "PRICE_LEVEL",
        "exchangeCode": "X",
        "source": "DEFAULT",
    }


def summary(
    *,
    symbol: str,
    day_id: int,
    day_open: float,
    day_high: float,
    day_low: float,
    day_close: float | None,
    prev_day_close: float,
    prev_day_volume: float,
    open_interest: float | None,
) -> dict[str, Any]:
    """A Summary row: the trading day so far and the day before (None goes out as "NaN")."""
    return {
        "eventSymbol": symbol,
        "eventTime": 0,
        "dayId": day_id,
        "dayClosePriceType": "REGULAR",
        "prevDayId": day_id - 1,
        "prevDayClosePriceType": "FINAL",
        "openInterest": open_interest,
        "dayOpenPrice": day_open,
        "dayHighPrice": day_high,
        "dayLowPrice": day_low,
        "dayClosePrice": day_close,
        "prevDayClosePrice": prev_day_close,
        "prevDayVolume": prev_day_volume,
    }


def greeks(
    *,
    symbol: str,
    ts_ns: int,
    price: float,
    volatility: float,
    delta: float,
    gamma: float,
    theta: float,
    rho: float,
    vega: float,
) -> dict[str, Any]:
    """A Greeks row (dxFeed computes them for options)."""
    ms = ts_ns // 1_000_000
    return {
        "eventSymbol": symbol,
        "eventTime": 0,
        "eventFlags": 0,
        "index": ms << 22,
        "time": ms,
        "sequence": 0,
        "price": price,
        "volatility": volatility,
        "delta": delta,
        "gamma": gamma,
        "theta": theta,
        "rho": rho,
        "vega": vega,
    }


class MarketScript:
    """The simulator's seeded market (streamers/simulator/market.py) as DXLink events: each trade
    a TimeAndSale (and a Trade last sale), each quote a Quote, each book a snapshot transaction of
    Order events, each level change one Order event. Level indexes are stable per (side, price)."""

    def __init__(self, *, dx_symbols: dict[str, str], seed: int = 7, rate: float = 50.0) -> None:
        from streamers.simulator.market import SimulatedMarket

        self.dx_symbols = dx_symbols  # canonical -> DXLink form
        self.market = SimulatedMarket(symbols=sorted(dx_symbols), seed=seed, rate=rate)
        self._indexes: dict[tuple[str, str, float], int] = {}
        self.volume = 0

    def _index(self, symbol: str, side: str, price: float) -> int:
        key = (symbol, side, price)
        if key not in self._indexes:
            self._indexes[key] = len(self._indexes) + 1
        return self._indexes[key]

    def step(self, now_ns: int) -> dict[str, list[dict[str, Any]]]:
        """DXLink rows by event type for one arrival of the market model."""
        out: dict[str, list[dict[str, Any]]] = {"TimeAndSale": [], "Trade": [], "Quote": [], "Order": []}
        for message in self.market.step(now_ns):
            for event_type, rows in self.rows_of(message).items():
                out[event_type] += rows
        return out

    def rows_of(self, message: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """The DXLink rows of one simulator message (a trade, a quote, a level or a whole book)."""
        dx = self.dx_symbols[message["sym"]]
        ts = message["t"]
        if message["type"] == "trade":
            self.volume += message["sz"]
            side = "BUY" if message["side"] == "B" else "SELL"
            px, sz = message["px"], message["sz"]
            return {
                "TimeAndSale": [time_and_sale(symbol=dx, ts_ns=ts, price=px, size=sz, side=side, index=message["seq"])],
                "Trade": [
                    last_sale(symbol=dx, ts_ns=ts, price=px, size=sz, sequence=message["seq"], day_volume=self.volume)
                ],
            }
        if message["type"] == "quote":
            row = quote(
                symbol=dx,
                ts_ns=ts,
                bid=message["bid"],
                bid_size=message["bsz"],
                ask=message["ask"],
                ask_size=message["asz"],
            )
            return {"Quote": [row]}
        if message["type"] == "level":
            side = "BUY" if message["side"] == "B" else "SELL"
            index = self._index(dx, side, message["px"])
            return {
                "Order": [order(symbol=dx, ts_ns=ts, index=index, side=side, price=message["px"], size=message["sz"])]
            }
        levels = [("BUY", px, sz) for px, sz in message["bids"]] + [("SELL", px, sz) for px, sz in message["asks"]]
        rows = []
        for position, (side, px, sz) in enumerate(levels):
            flags = 0x4 if position == 0 else 0  # SNAPSHOT_BEGIN
            flags |= 0x8 if position == len(levels) - 1 else 0x1  # SNAPSHOT_END, else TX_PENDING
            index = self._index(dx, side, px)
            rows.append(order(symbol=dx, ts_ns=ts, index=index, side=side, price=px, size=sz, flags=flags))
        return {"Order": rows}


async def run_market(fake: FakeTastytrade, script: MarketScript, *, seconds: float | None = None) -> None:
    """Publish the script at wall-clock pace on the fake's loop (the demo's market)."""
    started = time.time()
    next_at = started
    while seconds is None or time.time() - started < seconds:
        await asyncio.sleep(max(0.0, min(0.1, next_at - time.time())))
        now = time.time()
        batch: dict[str, list[dict[str, Any]]] = {}
        while next_at <= now:
            for event_type, rows in script.step(int(next_at * 1e9)).items():
                batch.setdefault(event_type, []).extend(rows)
            next_at += script.market.next_gap(next_at)
        for event_type, rows in batch.items():
            if rows:
                await fake.publish_async(event_type, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake tastytrade API + DXLink server with a simulated market")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=20.0, help="mean trades per second per symbol")
    parser.add_argument("--symbols", default="ES,NQ", help="continuous roots or contracts to simulate")
    options = parser.parse_args()

    import django

    django.setup()
    from apps.core.clock import utc_now
    from apps.marketdata.symbols import Venue, canonical, to_venue

    symbols = [canonical(symbol, at=utc_now()) for symbol in options.symbols.split(",") if symbol.strip()]
    fake = FakeTastytrade(port=options.port)
    fake.start()
    script = MarketScript(
        dx_symbols={s: to_venue(s, Venue.DXLINK) for s in symbols}, seed=options.seed, rate=options.rate
    )
    print(f"fake tastytrade on {fake.base_url} (DXLink at ws://127.0.0.1:{fake.port}/realtime)", flush=True)
    print(f"  TASTYTRADE_ENABLED=true TASTYTRADE_API_URL={fake.base_url}", flush=True)
    print(f"  TASTYTRADE_CLIENT_SECRET={FAKE_CLIENT_SECRET} TASTYTRADE_REFRESH_TOKEN={FAKE_REFRESH_TOKEN}", flush=True)
    future = asyncio.run_coroutine_threadsafe(run_market(fake, script), fake._loop)  # type: ignore[arg-type]
    try:
        future.result()
    except KeyboardInterrupt:
        future.cancel()
    finally:
        fake.stop()


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
    main()
