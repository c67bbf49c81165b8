"""A faithful fake of Unusual Whales: its WebSocket (UW framing and Phoenix V2) and the REST
endpoints the platform calls, over real sockets on 127.0.0.1 (protocols.md §3.1-3.5).

Socket, UW framing (`/socket?token=...`):
- a bad or missing token is refused at the upgrade with HTTP 401 (the real behaviour is not
  documented; 401 is the likelier one);
- `{"channel": C, "msg_type": "join"}` -> `[C, {"response": {}, "status": "ok"}]`; joins are
  idempotent. A channel UW does not list is answered `[C, {"response": {}, "status": "error"}]`
  (invented: UW's answer is undocumented);
- data is `[C, payload]`: an option trade goes to `option_trades` and to
  `option_trades:<underlying_symbol>`, an alert to `flow-alerts`;
- no application heartbeat; WebSocket pings are answered (unless the test freezes the socket).
Socket, Phoenix V2 (`/socket/websocket?vsn=2.0.0&token=...`): `[jr, ref, topic, "phx_join", {}]`
-> `[jr, ref, topic, "phx_reply", {"status": "ok", "response": {}}]`; the heartbeat
`[null, ref, "phoenix", "heartbeat", {}]` is answered with a `phx_reply`; broadcasts are
`[null, null, topic, "broadcast", payload]`; a socket that sends nothing for `idle_timeout`
(60 s, as Phoenix) is closed; `channel_crash(topic)` pushes `phx_error`.

REST (`Authorization: Bearer <token>`, else 401):
- `GET /api/option-trades/flow-alerts?newer_than=<ISO 8601>&limit=<n>`: every alert published
  (also while no client was connected) created after `newer_than`, oldest first, `{"data": [...]}`;
- `GET /api/market/market-tide?date=YYYY-MM-DD&otm_only=...`: the rows set with `set_market_tide`.

Payloads are the captured shapes in tests/fakes/uw_payloads/ (the same keys and string-vs-number
types), varied by `option_trade(...)` and `flow_alert(...)`.

    async with FakeUW() as fake:
        config = UWConfig(socket_url=fake.socket_url, api_url=fake.api_url, token=FAKE_TOKEN)
        await fake.publish_trade(option_trade(n=1))

For a demo: `python -m tests.fakes.uw --port 8766 --rest-port 8767` publishes a few trades and
alerts a second until interrupted (UW_SOCKET_URL=ws://127.0.0.1:8766/socket,
UW_API_URL=http://127.0.0.1:8767, UW_API_TOKEN=uw-fake-token-5f3a9c).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

PAYLOADS = Path(__file__).resolve().parent / "uw_payloads"
FAKE_TOKEN = "uw-fake-token-5f3a9c"
KNOWN_CHANNELS = ("option_trades", "flow-alerts", "news", "price", "gex", "gex_strike", "gex_strike_expiry")
_ids = itertools.count(1)


def _payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def option_trade(
    *, n: int | None = None, underlying: str = "UVIX", premium: str = "1.00", executed_at: int | None = None
) -> dict[str, Any]:
    """An option trade of the captured shape, with its own id (`trade-<n>`), time and premium."""
    n = next(_ids) if n is None else n
    trade = _payload("option_trade.json")
    trade.update(
        id=f"trade-{n}",
        underlying_symbol=underlying,
        premium=premium,
        executed_at=executed_at or int(time.time() * 1000),
        created_at=(executed_at or int(time.time() * 1000)) + 49,
    )
    return trade


def flow_alert(*, n: int | None = None, ticker: str = "DIA", executed_at: int | None = None) -> dict[str, Any]:
    """A flow alert of the captured shape, with its own id (`alert-<n>`) and time."""
    n = next(_ids) if n is None else n
    alert = _payload("flow_alert.json")
    at = executed_at or int(time.time() * 1000)
    alert.update(id=f"alert-{n}", ticker=ticker, executed_at=at, start_time=at - 100, end_time=at)
    return alert


def gex_payload(*, ticker: str = "SPX", at_ms: int | None = None, price: str = "5912.40") -> dict[str, Any]:
    """`gex:<T>` as UW sends it: strings, some empty."""
    moment = at_ms or int(time.time() * 1000)
    payload: dict[str, Any] = {"ticker": ticker, "timestamp": moment, "price": price}
    for greek in ("gamma", "delta", "charm", "vanna"):
        for basis in ("oi", "vol"):
            payload[f"{greek}_per_one_percent_move_{basis}"] = (
                "" if greek == "delta" else f"{hash((greek, basis)) % 9}123456.78"
            )
    for greek in ("gamma", "charm", "vanna"):
        payload[f"{greek}_per_one_percent_move_dir"] = "1234.5"
    return payload


@dataclass
class FakeConnection:
    websocket: ServerConnection
    protocol: str  # "uw" or "phoenix"
    joins: list[str] = field(default_factory=list)
    channels: dict[str, str | None] = field(default_factory=dict)  # channel -> Phoenix join ref
    received: list[Any] = field(default_factory=list)
    heartbeats: int = 0
    last_inbound: float = field(default_factory=time.monotonic)


class _RestHandler(BaseHTTPRequestHandler):
    server: _RestServer

    def do_GET(self) -> None:
        self.server.fake.rest_requests.append(self.path)
        status, body = self.server.fake.rest_answer(self.path, self.headers.get("Authorization"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _RestServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeUW


class FakeUW:
    def __init__(
        self, *, token: str = FAKE_TOKEN, idle_timeout: float = 60.0, port: int = 0, rest_port: int = 0
    ) -> None:
        self.token = token
        self.idle_timeout = idle_timeout
        self.port, self.rest_port = port, rest_port
        self.connections: list[FakeConnection] = []
        self.refused = 0
        # While set, every upgrade is answered 503: the client stays disconnected (an outage).
        self.unavailable = False
        self.alerts: list[dict[str, Any]] = []
        self.market_tide_rows: list[dict[str, Any]] = []
        self.rest_requests: list[str] = []
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._rest: _RestServer | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> FakeUW:
        self._server = await serve(
            self._handle, "127.0.0.1", self.port, process_request=self._check, ping_interval=None
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self._rest = _RestServer(("127.0.0.1", self.rest_port), _RestHandler)
        self._rest.fake = self
        self.rest_port = self._rest.server_address[1]
        threading.Thread(target=self._rest.serve_forever, name="fake-uw-rest", daemon=True).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._rest is not None:
            self._rest.shutdown()
            self._rest.server_close()

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def open_connections(self) -> list[FakeConnection]:
        return [c for c in self.connections if c.websocket.state.name == "OPEN"]

    # -- the socket ---------------------------------------------------------------------------

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path not in ("/socket", "/socket/websocket"):
            return connection.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        if self.unavailable:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable\n")
        if parse_qs(url.query).get("token") != [self.token]:
            self.refused += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid token\n")
        return None

    async def _handle(self, websocket: ServerConnection) -> None:
        path = urlsplit(websocket.request.path if websocket.request else "").path
        connection = FakeConnection(websocket, "phoenix" if path == "/socket/websocket" else "uw")
        self.connections.append(connection)
        idle = asyncio.create_task(self._close_when_idle(connection)) if connection.protocol == "phoenix" else None
        try:
            async for frame in websocket:
                connection.last_inbound = time.monotonic()
                message = json.loads(frame)
                connection.received.append(message)
                if connection.protocol == "phoenix":
                    await self._phoenix(connection, message)
                else:
                    await self._uw(connection, message)
        except ConnectionClosed:
            pass
        finally:
            if idle is not None:
                idle.cancel()

    async def _uw(self, connection: FakeConnection, message: Any) -> None:
        if isinstance(message, dict) and message.get("msg_type") == "join" and isinstance(message.get("channel"), str):
            channel = message["channel"]
            connection.joins.append(channel)
            known = channel.split(":", 1)[0] in KNOWN_CHANNELS
            if known:
                connection.channels[channel] = None
            status = "ok" if known else "error"  # the error answer is invented (undocumented)
            await connection.websocket.send(json.dumps([channel, {"response": {}, "status": status}]))

    async def _phoenix(self, connection: FakeConnection, message: Any) -> None:
        join_ref, ref, topic, event, _ = message
        if topic == "phoenix" and event == "heartbeat":
            connection.heartbeats += 1
            reply = [None, ref, "phoenix", "phx_reply", {"status": "ok", "response": {}}]
        elif event == "phx_join":
            connection.joins.append(topic)
            connection.channels[topic] = join_ref
            reply = [join_ref, ref, topic, "phx_reply", {"status": "ok", "response": {}}]
        elif event == "phx_leave":
            connection.channels.pop(topic, None)
            reply = [join_ref, ref, topic, "phx_reply", {"status": "ok", "response": {}}]
        else:
            reply = [join_ref, ref, topic, "phx_reply", {"status": "error", "response": {"reason": "unmatched topic"}}]
        await connection.websocket.send(json.dumps(reply))

    async def _close_when_idle(self, connection: FakeConnection) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout / 4))
            if time.monotonic() - connection.last_inbound > self.idle_timeout:
                await connection.websocket.close(1000, "idle")
                return

    async def _send(self, channel: str, payload: Any) -> int:
        """Send `payload` on `channel` to every connection that joined it; returns how many got it."""
        sent = 0
        for connection in self.open_connections:
            if channel not in connection.channels:
                continue
            if connection.protocol == "phoenix":
                frame = json.dumps([None, None, channel, "broadcast", payload])
            else:
                frame = json.dumps([channel, payload])
            with contextlib.suppress(ConnectionClosed):
                await connection.websocket.send(frame)
                sent += 1
        return sent

    async def publish(self, channel: str, payload: Any) -> int:
        return await self._send(channel, payload)

    async def publish_trade(self, trade: dict[str, Any]) -> int:
        return await self._send("option_trades", trade) + await self._send(
            f"option_trades:{trade['underlying_symbol']}", trade
        )

    async def publish_alert(self, alert: dict[str, Any]) -> int:
        """Publish an alert on `flow-alerts` and keep it for the REST endpoint (also when no client
        is connected: that is the alert a client must back-fill)."""
        with self._lock:
            self.alerts.append(alert)
        return await self._send("flow-alerts", alert)

    async def send_raw(self, frame: str | bytes) -> None:
        """A frame as it is, to every open connection (for bad input)."""
        for connection in self.open_connections:
            with contextlib.suppress(ConnectionClosed):
                await connection.websocket.send(frame)

    async def drop(self) -> None:
        """Cut every connection abruptly (no close frame), as a network failure does."""
        for connection in self.open_connections:
            transport = connection.websocket.transport
            transport.abort()

    def freeze(self) -> None:
        """Stop reading every open socket: pings go unanswered, as with a dead peer."""
        for connection in self.open_connections:
            connection.websocket.transport.pause_reading()

    async def channel_crash(self, topic: str) -> None:
        """Phoenix: the channel process crashed; the client must rejoin it."""
        for connection in self.open_connections:
            join_ref = connection.channels.pop(topic, None)
            if connection.protocol == "phoenix" and join_ref is not None:
                await connection.websocket.send(
                    json.dumps([join_ref, join_ref, topic, "phx_error", {"reason": "channel_crash"}])
                )

    async def wait_for(self, condition: Any, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("fake UW: condition not met in time")
            await asyncio.sleep(0.02)

    # -- REST ---------------------------------------------------------------------------------

    def set_market_tide(self, rows: list[dict[str, Any]]) -> None:
        self.market_tide_rows = rows

    def rest_answer(self, path: str, authorization: str | None) -> tuple[int, bytes]:
        if authorization != f"Bearer {self.token}":
            return 401, b'{"error":"unauthorized"}'
        url = urlsplit(path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == "/api/option-trades/flow-alerts":
            limit = int(query.get("limit", "50"))
            after_ms = 0
            if "newer_than" in query:
                after_ms = int(datetime.fromisoformat(query["newer_than"]).timestamp() * 1000)
            with self._lock:
                newer = sorted((a for a in self.alerts if a["executed_at"] > after_ms), key=lambda a: a["executed_at"])
            return 200, json.dumps({"data": newer[:limit]}).encode()
        if url.path == "/api/market/market-tide":
            day = query.get("date")
            rows = [row for row in self.market_tide_rows if day is None or row["date"] == day]
            return 200, json.dumps({"data": rows}).encode()
        return 404, b'{"error":"not found"}'


class FakeUWThread:
    """The fake on an event loop of its own thread, for tests that drive a streamer process:

    with FakeUWThread() as (fake, call):
        call(fake.publish_alert(flow_alert()))
    """

    def __init__(self, **options: Any) -> None:
        self.fake = FakeUW(**options)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-uw", daemon=True)

    def call(self, coroutine: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> tuple[FakeUW, Any]:
        self._thread.start()
        self.call(self.fake.__aenter__())
        return self.fake, self.call

    def __exit__(self, *exc_info: object) -> None:
        self.call(self.fake.__aexit__())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


async def _demo(port: int, rest_port: int) -> None:
    rng = random.Random(7)  # noqa: S311 - a demo feed, not cryptography
    async with FakeUW(port=port, rest_port=rest_port) as fake:
        print(f"fake UW: socket {fake.socket_url}  REST {fake.api_url}  token {fake.token}", flush=True)
        while True:
            for _ in range(rng.randint(1, 5)):
                premium = f"{rng.randint(1, 5000) * 10}.00"
                await fake.publish_trade(option_trade(underlying=rng.choice(["SPY", "SPX", "QQQ"]), premium=premium))
            if rng.random() < 0.2:
                await fake.publish_alert(flow_alert(ticker=rng.choice(["DIA", "SPY"])))
            if rng.random() < 0.1:
                await fake.publish("gex:SPX", gex_payload())
            await asyncio.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--rest-port", type=int, default=8767)
    options = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(options.port, options.rest_port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
