"""A simulator server: the market model over a WebSocket, for load tests and for exercising the
network path (reconnects, drops) of the streamer framework.

    python -m streamers.simulator.server --port 8765 --rate 1000

A client sends {"op": "subscribe", "symbols": [...]} and receives JSON-array frames.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve

from streamers.simulator.client import MarketPacer
from streamers.simulator.market import SimulatedMarket

_decoder = msgspec.json.Decoder()


@dataclass
class SimulatorServer:
    seed: int = 7
    rate: float = 20.0
    # Abort the connection (no close frame, as when a network drops) after this many frames.
    drop_after_frames: int | None = None
    subscriptions: list[list[str]] = field(default_factory=list)
    sent_frames: list[bytes] = field(default_factory=list)
    connections: int = 0
    dropped_after: int | None = None
    _server: Server | None = None

    async def handler(self, websocket: ServerConnection) -> None:
        self.connections += 1
        request = _decoder.decode(await websocket.recv())
        symbols = list(request.get("symbols", []))
        self.subscriptions.append(symbols)
        pacer = MarketPacer(SimulatedMarket(symbols=symbols, seed=self.seed + self.connections, rate=self.rate))
        frames = 0
        while True:
            frame = await pacer.frame()
            await websocket.send(frame)
            self.sent_frames.append(frame)
            frames += 1
            if self.drop_after_frames is not None and frames >= self.drop_after_frames and self.connections == 1:
                # Let what was sent reach the client, then cut the TCP connection without a close frame.
                self.dropped_after = len(self.sent_frames)
                await asyncio.sleep(0.3)
                websocket.transport.abort()
                return

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await serve(self.handler, host, port)
        bound = next(iter(self._server.sockets)).getsockname()
        return f"ws://{host}:{bound[1]}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _main(port: int, rate: float, seed: int) -> None:
    server = SimulatorServer(seed=seed, rate=rate)
    url = await server.start(port=port)
    print(f"simulator server on {url}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rate", type=float, default=20.0, help="mean trades per second per symbol")
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    asyncio.run(_main(options.port, options.rate, options.seed))
