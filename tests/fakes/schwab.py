"""A faithful fake of the Schwab Trader API: OAuth, user preferences, price history (HTTP) and
the streamer (WebSocket), on one port of 127.0.0.1 (checklist: reference/protocols.md §1.8).

- `POST /v1/oauth/token`: Basic auth with the app key and secret; `authorization_code` and
  `refresh_token` grants, form-encoded; `expires_in: 1800`; a refresh token older than 7 days
  (or expired on purpose with `expire_refresh_tokens()`) answers `400 invalid_client: refresh
  token invalid`. `GET /v1/oauth/authorize` redirects to the callback with `?code=...`.
- `GET /trader/v1/userPreference` (Bearer access token) gives `streamerInfo[0]` with this
  server's `ws://` URL; `GET /marketdata/v1/pricehistory` gives minute candles of the market.
- `/ws`: the first command must be ADMIN LOGIN with a valid access token (else code 20, or code
  3 for a bad token, then close). One connection per customer: a new LOGIN closes the older one
  with code 12. One response per command echoing service, command, requestid and correl id.
  SUBS replaces, ADD appends, UNSUBS removes, VIEW changes fields; code 11 for an unknown
  service, 19 past the symbol limit, 21 for a command without keys. LEVELONE rows carry every
  requested field first, then only the fields that changed; books come whole; CHART_FUTURES
  one row per minute with `seq`. Heartbeats every `heartbeat_interval`; code 30 and close when
  a connection sits without subscriptions; LOGOUT answers SUCCESS and closes.
- Frames carry the wall clock's epoch milliseconds, or with `at=` a set instant (a market clock
  standing still: every quote, trade, book, bar, response and heartbeat stamped at it), so a
  test reads the store at a moment it names instead of today's.
- Faults on demand: `drop()` (the socket ends with no close frame), `drop_every_trades`,
  `rate_limit(times)` (429 with Retry-After), `expire_refresh_tokens()`, `take_session()`.

Every trade the market sends is recorded (`sent_trades`) so tests check what reached Redis.

    fake = FakeSchwab(); await fake.start()  ... fake.api_url ...; await fake.stop()

For a demo: `python -m tests.fakes.schwab [--port 8766]` serves until interrupted and prints the
settings to point the platform at it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import random
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

APP_KEY = "fake-app-key"
APP_SECRET = "fake-app-secret"
# Schwab's codes end in "@", sent URL-encoded (%40) in the redirect.
AUTH_CODE = "fake-code@"
CUSTOMER_ID = "fake-customer"
ACCESS_SECONDS = 1800
REFRESH_SECONDS = 7 * 24 * 3600
SERVICES = {
    "ADMIN",
    "LEVELONE_FUTURES",
    "LEVELONE_EQUITIES",
    "NASDAQ_BOOK",
    "NYSE_BOOK",
    "OPTIONS_BOOK",
    "CHART_FUTURES",
    "CHART_EQUITY",
}
LEVEL_ONE = {"LEVELONE_FUTURES", "LEVELONE_EQUITIES"}
BOOKS = {"NASDAQ_BOOK", "NYSE_BOOK", "OPTIONS_BOOK"}


def _ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Instrument:
    """One symbol's market: a random walk in quarter ticks, trades and quotes."""

    key: str
    price: float
    tick: float = 0.25
    bid_size: int = 10
    ask_size: int = 12
    volume: int = 100_000
    last_size: int = 1
    trade_ms: int = 0
    quote_ms: int = 0
    minutes: dict[int, list[float]] = field(default_factory=dict)  # minute -> [o, h, l, c, v]

    @property
    def bid(self) -> float:
        return self.price - self.tick

    @property
    def ask(self) -> float:
        return self.price

    def step(self, rng: random.Random, now: int) -> bool:
        """Advance one event at epoch ms `now`; True if it was a trade."""
        if rng.random() < 0.6:
            self.price += rng.choice((-1, 0, 1)) * self.tick
            self.last_size = rng.randint(1, 20)
            self.volume += self.last_size
            self.trade_ms = now
            minute = now - now % 60_000
            bar = self.minutes.setdefault(minute, [self.price, self.price, self.price, self.price, 0.0])
            bar[1], bar[2], bar[3] = max(bar[1], self.price), min(bar[2], self.price), self.price
            bar[4] += self.last_size
            return True
        self.bid_size, self.ask_size = rng.randint(1, 50), rng.randint(1, 50)
        self.quote_ms = now
        return False

    def fields(self, service: str) -> dict[str, Any]:
        values: dict[str, Any] = {"1": self.bid, "2": self.ask, "3": self.price, "4": self.bid_size, "5": self.ask_size}
        values.update({"8": self.volume, "9": self.last_size})
        if service == "LEVELONE_FUTURES":
            values.update({"6": "?", "7": "?", "10": self.quote_ms, "11": self.trade_ms, "15": "@", "24": self.price})
        else:
            values.update({"34": self.quote_ms, "35": self.trade_ms, "33": self.price})
        return values


@dataclass
class Session:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    customer: str = ""
    logged_in: bool = False
    subs: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # service -> key -> fields
    sent: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    trades_sent: int = 0
    closed: bool = False
    last_sub_change: float = field(default_factory=time.monotonic)


class FakeSchwab:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tick_interval: float = 0.02,
        heartbeat_interval: float = 1.0,
        book_interval: float = 0.5,
        bar_interval: float = 0.5,
        empty_timeout: float = 30.0,
        symbol_limit: int = 500,
        seed: int = 7,
        at: datetime | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.tick_interval = tick_interval
        self.heartbeat_interval = heartbeat_interval
        self.book_interval = book_interval
        self.bar_interval = bar_interval
        self.empty_timeout = empty_timeout
        self.symbol_limit = symbol_limit
        self.at_ms = None if at is None else int(at.timestamp() * 1000)
        self.rng = random.Random(seed)  # noqa: S311 - a market simulation, not cryptography
        self.instruments: dict[str, Instrument] = {}
        self.access_tokens: dict[str, float] = {}  # token -> expires (epoch s)
        self.refresh_tokens: dict[str, float] = {}  # token -> expires (epoch s)
        self.codes = {AUTH_CODE}
        self.sessions: list[Session] = []
        self.sent_trades: list[tuple[str, int, float, int]] = []  # (key, volume after, price, size)
        self.token_requests: list[dict[str, str]] = []
        self.commands: list[dict[str, Any]] = []
        self.logins = 0
        self.drops = 0
        self.rate_limited = 0
        self._rate_limit_times = 0
        self.drop_every_trades = 0
        self.drops_remaining = 0
        self.paused = False
        self.deny_logins = 0
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def now_ms(self) -> int:
        """The market's clock (epoch ms): the wall clock, or `at` standing still."""
        return _ms() if self.at_ms is None else self.at_ms

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/oauth/token", self._token)
        app.router.add_get("/v1/oauth/authorize", self._authorize)
        app.router.add_get("/trader/v1/userPreference", self._preferences)
        app.router.add_get("/marketdata/v1/pricehistory", self._price_history)
        app.router.add_get("/ws", self._websocket)
        app.router.add_post("/_fake/{action}", self._control)
        app.router.add_get("/_fake/trades", self._trades)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._tasks = [asyncio.create_task(self._market()), asyncio.create_task(self._heartbeats())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for session in list(self.sessions):
            await self._close(session)
        if self._runner is not None:
            await self._runner.cleanup()

    # -- tokens ----------------------------------------------------------------------------

    def issue_tokens(self, *, refresh_seconds: float = REFRESH_SECONDS) -> dict[str, Any]:
        """A login's tokens, as the code grant hands them out (tests use it to seed the store)."""
        access, refresh = f"access-{secrets.token_hex(8)}", f"refresh-{secrets.token_hex(8)}"
        self.access_tokens[access] = time.time() + ACCESS_SECONDS
        self.refresh_tokens[refresh] = time.time() + refresh_seconds
        return {
            "access_token": access,
            "refresh_token": refresh,
            "id_token": f"id-{secrets.token_hex(4)}",
            "token_type": "Bearer",
            "expires_in": ACCESS_SECONDS,
            "scope": "api",
        }

    def expire_refresh_tokens(self) -> None:
        for token in self.refresh_tokens:
            self.refresh_tokens[token] = 0.0

    def expire_access_tokens(self) -> None:
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    def rate_limit(self, times: int) -> None:
        self._rate_limit_times = times

    def _valid_access(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and self.access_tokens.get(token, 0) > time.time()

    def _limited(self) -> web.Response | None:
        if self._rate_limit_times > 0:
            self._rate_limit_times -= 1
            self.rate_limited += 1
            return web.json_response(
                {"errors": [{"status": 429, "title": "Too Many Requests"}]}, status=429, headers={"Retry-After": "1"}
            )
        return None

    async def _token(self, request: web.Request) -> web.Response:  # noqa: PLR0911 - one answer per grant outcome
        limited = self._limited()
        if limited:
            return limited
        expected = "Basic " + base64.b64encode(f"{APP_KEY}:{APP_SECRET}".encode()).decode()
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.token_requests.append(form)
        if request.headers.get("Authorization") != expected:
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"}, status=401
            )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if form.get("code") not in self.codes:
                return web.json_response(
                    {"error": "invalid_grant", "error_description": "authorization code invalid"}, status=400
                )
            return web.json_response(self.issue_tokens())
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if self.refresh_tokens.get(refresh, 0) <= time.time():
                return web.json_response(
                    {"error": "invalid_client", "error_description": "refresh token invalid"}, status=400
                )
            access = f"access-{secrets.token_hex(8)}"
            self.access_tokens[access] = time.time() + ACCESS_SECONDS
            body = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer"}
            return web.json_response({**body, "expires_in": ACCESS_SECONDS, "scope": "api", "id_token": "id"})
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    async def _authorize(self, request: web.Request) -> web.Response:
        if request.query.get("client_id") != APP_KEY:
            return web.json_response({"error": "invalid_client"}, status=400)
        target = request.query.get("redirect_uri", "")
        raise web.HTTPFound(f"{target}?" + urlencode({"code": AUTH_CODE, "session": secrets.token_hex(4)}))

    async def _preferences(self, request: web.Request) -> web.Response:
        limited = self._limited()
        if limited:
            return limited
        if not self._valid_access(request):
            return web.json_response({"errors": [{"status": 401, "title": "Unauthorized"}]}, status=401)
        return web.json_response(
            {
                "accounts": [{"accountNumber": "1000", "primaryAccount": True, "type": "BROKERAGE"}],
                "streamerInfo": [
                    {
                        "streamerSocketUrl": self.ws_url,
                        "schwabClientCustomerId": CUSTOMER_ID,
                        "schwabClientCorrelId": "fake-correl",
                        "schwabClientChannel": "N9",
                        "schwabClientFunctionId": "APIAPP",
                    }
                ],
                "offers": [{"level2Permissions": True, "mktDataPermission": "NP"}],
            }
        )

    async def _price_history(self, request: web.Request) -> web.Response:
        limited = self._limited()
        if limited:
            return limited
        if not self._valid_access(request):
            return web.json_response({"errors": [{"status": 401}]}, status=401)
        key = request.query.get("symbol", "")
        start, end = int(request.query.get("startDate", 0)), int(request.query.get("endDate", 2**62))
        instrument = self.instruments.get(key)
        candles = [
            {"open": o, "high": h, "low": lo, "close": c, "volume": v, "datetime": minute}
            for minute, (o, h, lo, c, v) in sorted((instrument.minutes if instrument else {}).items())
            if start <= minute <= end
        ]
        return web.json_response({"candles": candles, "symbol": key, "empty": not candles})

    # -- test and demo controls -------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action == "drop":
            await self.drop()
        elif action == "expire_refresh":
            self.expire_refresh_tokens()
        elif action == "rate_limit":
            self.rate_limit(int(request.query.get("times", "1")))
        else:
            return web.json_response({"error": f"unknown action {action}"}, status=404)
        return web.json_response({"ok": True})

    async def _trades(self, request: web.Request) -> web.Response:
        return web.json_response(self.sent_trades)

    async def drop(self) -> None:
        """End every streamer socket abruptly: no close frame (what was sent before arrives)."""
        for session in list(self.sessions):
            self.drops += 1
            session.closed = True
            if session.transport is not None:
                session.transport.close()
            self._forget(session)

    async def send_raw(self, text: str) -> None:
        """Send a frame as it is (a malformed one, for the dead-letter tests)."""
        for session in list(self.sessions):
            if not session.ws.closed:
                await session.ws.send_str(text)

    async def take_session(self) -> None:
        """Another connection of the same customer logged in: the current one gets code 12."""
        for session in list(self.sessions):
            await self._send(session, {"notify": [self._admin(12, "Close connection: max connections reached")]})
            await self._close(session)

    # -- the streamer ------------------------------------------------------------------------

    def _forget(self, session: Session) -> None:
        if session in self.sessions:
            self.sessions.remove(session)

    async def _close(self, session: Session) -> None:
        session.closed = True
        self._forget(session)
        if not session.ws.closed:
            await session.ws.close()

    async def _send(self, session: Session, frame: dict[str, Any]) -> None:
        if session.closed or session.ws.closed:
            return
        try:
            await session.ws.send_str(json.dumps(frame))
        except (ConnectionError, RuntimeError):
            session.closed = True
            self._forget(session)

    def _admin(self, code: int, message: str) -> dict[str, Any]:
        return {"service": "ADMIN", "timestamp": self.now_ms(), "content": {"code": code, "msg": message}}

    async def _respond(self, session: Session, command: dict[str, Any], code: int, message: str) -> None:
        response = {
            "service": command.get("service"),
            "command": command.get("command"),
            "requestid": str(command.get("requestid")),
            "SchwabClientCorrelId": command.get("SchwabClientCorrelId"),
            "timestamp": self.now_ms(),
            "content": {"code": code, "msg": message},
        }
        await self._send(session, {"response": [response]})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        # autoclose off: on the client's close frame the market must stop writing to this socket
        # before the reply, or the close handshake waits behind the data (the client times out).
        ws = web.WebSocketResponse(autoping=True, autoclose=False)
        await ws.prepare(request)
        session = Session(ws=ws, transport=request.transport)
        async for message in ws:
            if message.type == WSMsgType.CLOSE:
                session.closed = True
                break
            if message.type != WSMsgType.TEXT:
                continue
            try:
                body = json.loads(message.data)
                commands = body["requests"] if isinstance(body, dict) and "requests" in body else [body]
            except (ValueError, KeyError, TypeError):
                await self._respond(session, {}, 21, "Bad command formatting")
                continue
            for command in commands:
                self.commands.append(command)
                if not await self._command(session, command):
                    await self._close(session)
                    return ws
        # The client closed (or the socket ended): stop the market writing here, answer the close
        # frame at once and end the TCP connection.
        session.closed = True
        self._forget(session)
        if not ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), timeout=0.5)
        if session.transport is not None:
            session.transport.close()
        return ws

    async def _command(  # noqa: PLR0911, PLR0912 - the guide's command table, one branch per rule
        self, session: Session, command: dict[str, Any]
    ) -> bool:
        """Handle one command; False once the connection must close."""
        service, verb = command.get("service"), command.get("command")
        parameters = command.get("parameters") or {}
        if not session.logged_in:
            if (service, verb) != ("ADMIN", "LOGIN"):
                await self._respond(session, command, 20, "Stream connection not found")
                return False
            token = parameters.get("Authorization", "")
            if self.deny_logins > 0 or self.access_tokens.get(token, 0) <= time.time():
                self.deny_logins = max(0, self.deny_logins - 1)
                await self._respond(session, command, 3, "Login Denied.: token is invalid or has expired.")
                return False
            customer = str(command.get("SchwabClientCustomerId", ""))
            for other in [s for s in self.sessions if s.customer == customer]:
                await self._send(other, {"notify": [self._admin(12, "Close connection: max connections reached")]})
                await self._close(other)
            session.customer, session.logged_in = customer, True
            session.last_sub_change = time.monotonic()
            self.sessions.append(session)
            self.logins += 1
            await self._respond(session, command, 0, "server=fake-1;status=NP")
            return True
        if service == "ADMIN" and verb == "LOGOUT":
            await self._respond(session, command, 0, "SUCCESS")
            return False
        if service not in SERVICES or service == "ADMIN":
            await self._respond(session, command, 11, "Service not available or temporary down")
            return True
        keys = [key.strip() for key in str(parameters.get("keys", "")).split(",") if key.strip()]
        fields = [item.strip() for item in str(parameters.get("fields", "")).split(",") if item.strip()]
        if verb in ("SUBS", "ADD", "UNSUBS") and not keys:
            await self._respond(session, command, 21, "Bad command formatting: no keys")
            return True
        current = session.subs.setdefault(str(service), {})
        if verb == "SUBS":
            current.clear()
        if verb in ("SUBS", "ADD"):
            if len(set(current) | set(keys)) > self.symbol_limit:
                await self._respond(session, command, 19, f"Reached symbol limit of {self.symbol_limit}")
                return True
            for key in keys:
                current[key] = fields or ["0"]
                session.sent.pop((str(service), key), None)
                if service in LEVEL_ONE | {"CHART_FUTURES"} or service in BOOKS:
                    self._instrument(key)
        elif verb == "UNSUBS":
            for key in keys:
                current.pop(key, None)
        elif verb == "VIEW":
            for key in current:
                current[key] = fields or ["0"]
        else:
            await self._respond(session, command, 21, f"Bad command formatting: unknown command {verb}")
            return True
        session.last_sub_change = time.monotonic()
        await self._respond(session, command, 0, f"{verb} command succeeded")
        return True

    def _instrument(self, key: str) -> Instrument:
        if key not in self.instruments:
            price = 5000.0 if key.startswith("/ES") else 18000.0 if key.startswith("/NQ") else 100.0
            now = self.now_ms()
            self.instruments[key] = Instrument(
                key=key, price=price, tick=0.25 if key.startswith("/") else 0.01, trade_ms=now, quote_ms=now
            )
        return self.instruments[key]

    def _row(self, session: Session, service: str, key: str, fields: list[str]) -> tuple[dict[str, Any] | None, bool]:
        """The row to send (every requested field the first time, then only changed ones), and
        whether it was the first."""
        values = {name: value for name, value in self._instrument(key).fields(service).items() if name in fields}
        before = session.sent.get((service, key))
        changed = values if before is None else {name: v for name, v in values.items() if before.get(name) != v}
        session.sent[(service, key)] = values
        if not changed:
            return None, False
        row = {"key": key, "delayed": False, **changed}
        if before is None:
            row["assetMainType"] = "FUTURE" if service == "LEVELONE_FUTURES" else "EQUITY"
        return row, before is None

    async def _market(self) -> None:
        last_book = last_bar = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_interval)
            if self.paused:
                continue
            stamp = self.now_ms()
            traded = {key: instrument.step(self.rng, stamp) for key, instrument in list(self.instruments.items())}
            now = time.monotonic()
            books = now - last_book >= self.book_interval
            bars = now - last_bar >= self.bar_interval
            last_book = now if books else last_book
            last_bar = now if bars else last_bar
            for session in list(self.sessions):
                await self._stream(session, traded, books=books, bars=bars)

    async def _stream(  # noqa: PLR0912 - one branch per service kind
        self, session: Session, traded: dict[str, bool], *, books: bool, bars: bool
    ) -> None:
        if not any(session.subs.values()):
            if time.monotonic() - session.last_sub_change > self.empty_timeout:
                await self._send(session, {"notify": [self._admin(30, "Stop streaming due to empty subscription")]})
                await self._close(session)
            return
        data = []
        for service in sorted(LEVEL_ONE):
            rows = []
            for key, fields in session.subs.get(service, {}).items():
                row, first = self._row(session, service, key, fields)
                if row is None:
                    continue
                rows.append(row)
                # The first row is the day so far (a baseline); later, a volume change is a trade.
                if traded.get(key) and "8" in row and not first:
                    instrument = self.instruments[key]
                    self.sent_trades.append((key, instrument.volume, instrument.price, instrument.last_size))
                    session.trades_sent += 1
            if rows:
                data.append({"service": service, "timestamp": self.now_ms(), "command": "SUBS", "content": rows})
        if books:
            for service in sorted(BOOKS):
                rows = [self._book(key) for key in session.subs.get(service, {})]
                if rows:
                    data.append({"service": service, "timestamp": self.now_ms(), "command": "SUBS", "content": rows})
        if bars:
            rows = [self._bar(key) for key in session.subs.get("CHART_FUTURES", {})]
            rows = [row for row in rows if row]
            if rows:
                data.append(
                    {"service": "CHART_FUTURES", "timestamp": self.now_ms(), "command": "SUBS", "content": rows}
                )
        if data:
            await self._send(session, {"data": data})
        if self.drop_every_trades and self.drops_remaining > 0 and session.trades_sent >= self.drop_every_trades:
            self.drops_remaining -= 1
            await self.drop()

    def _book(self, key: str) -> dict[str, Any]:
        instrument = self._instrument(key)
        tick = instrument.tick

        def level(price: float, size: int) -> dict[str, Any]:
            return {"0": round(price, 2), "1": size, "2": 1, "3": [{"0": "NSDQ", "1": size, "2": 63150257}]}

        return {
            "key": key,
            "1": self.now_ms(),
            "2": [level(instrument.bid - i * tick, 100 * (i + 1)) for i in range(5)],
            "3": [level(instrument.ask + i * tick, 100 * (i + 1)) for i in range(5)],
        }

    def _bar(self, key: str) -> dict[str, Any] | None:
        instrument = self._instrument(key)
        if not instrument.minutes:
            return None
        minute = max(instrument.minutes)
        o, h, lo, c, v = instrument.minutes[minute]
        return {"key": key, "seq": minute // 60_000 % 1440, "1": minute, "2": o, "3": h, "4": lo, "5": c, "6": v}

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            if self.paused:
                continue
            for session in list(self.sessions):
                await self._send(session, {"notify": [{"heartbeat": str(self.now_ms())}]})


class FakeSchwabThread:
    """The fake on an event loop of its own thread (for a demo, or a test that runs processes)."""

    def __init__(self, **options: Any) -> None:
        self.fake = FakeSchwab(**options)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def __enter__(self) -> FakeSchwab:
        self._thread.start()
        self.call(self.fake.start())
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Schwab Trader API on 127.0.0.1 until interrupted.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--tick-interval", type=float, default=0.1, help="seconds between market events per symbol")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with FakeSchwabThread(port=args.port, tick_interval=args.tick_interval, empty_timeout=3600) as fake:
        sys.stdout.write(
            f"fake Schwab serving {fake.api_url} (streamer {fake.ws_url})\n"
            f"  SCHWAB_ENABLED=true SCHWAB_API_URL={fake.api_url} SCHWAB_APP_KEY={APP_KEY} SCHWAB_APP_SECRET={APP_SECRET}\n"
            f"  python manage.py schwab_login --redirected-url 'https://127.0.0.1:8182/?{urlencode({'code': AUTH_CODE})}'\n"
        )
        sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
