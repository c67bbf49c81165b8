"""Client side of the WebSocket tests: the `websockets` library over real sockets, and events for
the real hot-store writer."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from apps.marketdata.events import DepthSnapshot, DepthUpdate, Side, Trade
from tests import factories
from tests.factories import SYMBOL, Writer, depth_update, trade

__all__ = [
    "RECEIVE_TIMEOUT",
    "SYMBOL",
    "Writer",
    "collect_events",
    "depth_snapshot",
    "depth_updates",
    "now",
    "open_ws",
    "recv_json",
    "send_json",
    "subscribe",
    "trades",
]

MICROSECOND = 1e-6
# A safety net against a hang, never a measurement.
RECEIVE_TIMEOUT = 30.0


async def open_ws(
    url: str,
    *,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    receive_buffer: int | None = None,
    **kwargs: Any,
) -> ClientConnection:
    """A client connection; `receive_buffer` shrinks the socket's kernel buffer (a client that
    stops reading then backs up to the server quickly)."""
    extra = dict(headers or {})
    if cookie:
        extra["Cookie"] = cookie
    sock = None
    if receive_buffer is not None:
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await connect(
        url,
        additional_headers=extra,
        compression=None,
        max_size=None,
        open_timeout=RECEIVE_TIMEOUT,
        sock=sock,
        **kwargs,
    )


async def send_json(ws: ClientConnection, message: Any) -> None:
    await ws.send(orjson.dumps(message).decode())


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT))


async def subscribe(ws: ClientConnection, symbols: list[str], since: dict[str, str] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"action": "subscribe", "symbols": symbols}
    if since:
        message["since"] = since
    await send_json(ws, message)
    return await recv_json(ws)


async def collect_events(
    ws: ClientConnection, *, count: int, others: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Events of `events` frames until `count` arrived; any other frame goes to `others`."""
    events: list[dict[str, Any]] = []
    while len(events) < count:
        frame = await recv_json(ws)
        if frame["type"] == "events":
            events.extend(frame["events"])
        elif others is not None:
            others.append(frame)
        else:
            raise AssertionError(f"unexpected frame {frame}")
    return events


# The real server under test trims its hot store by the real clock, so events here start at now, not T0.
def now() -> datetime:
    return datetime.now(UTC)


def trades(count: int, *, price: float = 6000.0, symbol: str = SYMBOL) -> list[Trade]:
    base = now()
    return [
        trade(
            i * MICROSECOND,
            price + (i % 8) * 0.25,
            size=1 + i % 5,
            seq=i,
            side=Side(1 + i % 2),
            symbol=symbol,
            base=base,
            received_after_ns=500,
        )
        for i in range(count)
    ]


def depth_updates(count: int) -> list[DepthSnapshot | DepthUpdate]:
    base = now()
    return [
        depth_update(i * MICROSECOND, Side(1 + i % 2), 6000.0 + (i % 10) * 0.25, i % 7, base=base) for i in range(count)
    ]


def depth_snapshot() -> DepthSnapshot:
    return factories.depth_snapshot(0, base=now())
