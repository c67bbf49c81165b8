"""Client side of the WebSocket tests: the `websockets` library over real sockets, and the real
hot-store writer."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from typing import Any

import orjson
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect

from apps.core.redis import get_async_redis
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Level, Side, Trade
from apps.marketdata.services.streams import HotStoreWriter

SYMBOL = "ESZ26"
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


def now_ns() -> int:
    return time.time_ns()


def trades(count: int, *, start_ns: int | None = None, price: float = 6000.0, symbol: str = SYMBOL) -> list[Trade]:
    base = start_ns or now_ns()
    return [
        Trade(
            symbol,
            base + i * 1000,
            base + i * 1000 + 500,
            price + (i % 8) * 0.25,
            1 + i % 5,
            Side(1 + i % 2),
            "test",
            i,
        )
        for i in range(count)
    ]


def depth_updates(count: int, *, start_ns: int | None = None) -> list[DepthSnapshot | DepthUpdate]:
    base = start_ns or now_ns()
    return [
        DepthUpdate(SYMBOL, base + i * 1000, base + i * 1000, Side(1 + i % 2), 6000.0 + (i % 10) * 0.25, i % 7, "test")
        for i in range(count)
    ]


def depth_snapshot() -> DepthSnapshot:
    base = now_ns()
    return DepthSnapshot(
        SYMBOL, base, base, (Level(6000.0, 10), Level(5999.75, 12)), (Level(6000.25, 8), Level(6000.5, 3)), "test"
    )


class Writer:
    """The hot store's writer on this test's event loop; `write` returns the stream entry id."""

    def __init__(self) -> None:
        self.client = get_async_redis(settings.REDIS_URL)
        self.writer = HotStoreWriter(self.client, feed="test")

    async def write(self, events: Sequence[Any]) -> str:
        result = await self.writer.write(events)
        assert not result.rejected, result.rejected
        return next(iter(result.last_ids.values()))

    async def close(self) -> None:
        await self.client.aclose()
