"""The simulator feed client: the market model in-process, or a simulator server over a WebSocket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from apps.marketdata.events import Event
from streamers.feed import ConnectionLostError
from streamers.simulator import parsing
from streamers.simulator.market import SimulatedMarket

MAX_MESSAGES_PER_FRAME = 2000
_encoder = msgspec.json.Encoder()
HEARTBEAT = _encoder.encode({"type": "heartbeat"})


class MarketPacer:
    """Turns the market model into frames at wall-clock pace (as fast as possible when behind)."""

    def __init__(self, market: SimulatedMarket) -> None:
        self.market = market
        self.next_at = time.time()

    async def frame(self) -> bytes:
        if not self.market.books:
            await asyncio.sleep(1)
            return HEARTBEAT
        delay = self.next_at - time.time()
        if delay > 0:
            await asyncio.sleep(min(delay, 1.0))
            if self.next_at > time.time():
                return HEARTBEAT
        now = time.time()
        messages: list[dict[str, Any]] = []
        while self.next_at <= now and len(messages) < MAX_MESSAGES_PER_FRAME:
            messages += self.market.step(int(self.next_at * 1e9))
            self.next_at += self.market.next_gap(self.next_at)
        return _encoder.encode(messages)


class SimulatorClient:
    name = "simulator"

    def __init__(self, *, seed: int = 7, rate: float = 20.0, url: str | None = None, sessions: bool = True) -> None:
        self.seed = seed
        self.rate = rate
        self.sessions = sessions
        self.url = url
        self._ws: ClientConnection | None = None
        self._pacer: MarketPacer | None = None
        self._closed = asyncio.Event()

    async def connect(self) -> None:
        self._closed.clear()
        if self.url is None:
            if self._pacer is None:
                self._pacer = MarketPacer(
                    SimulatedMarket(symbols=[], seed=self.seed, rate=self.rate, sessions=self.sessions)
                )
            return
        try:
            self._ws = await ws_connect(self.url, open_timeout=5, max_size=16 * 2**20)
        except (OSError, websockets.WebSocketException, TimeoutError) as error:
            raise ConnectionLostError(f"cannot connect to {self.url}: {error}") from error

    async def subscribe(self, symbols: Sequence[str]) -> None:
        if self._ws is not None:
            try:
                await self._ws.send(_encoder.encode({"op": "subscribe", "symbols": list(symbols)}))
            except websockets.WebSocketException as error:
                raise ConnectionLostError(str(error)) from error
        elif self._pacer is not None:
            self._pacer.market.set_symbols(list(symbols))

    async def receive(self) -> bytes | str:
        if self._closed.is_set():
            raise ConnectionLostError("closed")
        if self._ws is not None:
            try:
                return await self._ws.recv()
            except websockets.WebSocketException as error:
                raise ConnectionLostError(f"connection to {self.url} lost: {error}") from error
        if self._pacer is None:
            raise ConnectionLostError("not connected")
        frame = asyncio.ensure_future(self._pacer.frame())
        closed = asyncio.ensure_future(self._closed.wait())
        done, _ = await asyncio.wait({frame, closed}, return_when=asyncio.FIRST_COMPLETED)
        if frame not in done:
            frame.cancel()
            raise ConnectionLostError("closed")
        closed.cancel()
        return frame.result()

    def parse(self, raw: bytes | str, *, ts_recv: int) -> list[Event]:
        return parsing.parse(raw, ts_recv=ts_recv)

    async def close(self) -> None:
        self._closed.set()
        if self._ws is not None:
            ws, self._ws = self._ws, None
            await ws.close()
