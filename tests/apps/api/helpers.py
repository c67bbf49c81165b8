"""Writing market data the way the streamers do (the real hot store writer) for API tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from django.conf import settings

from apps.core.redis import get_async_redis
from apps.marketdata.events import Event, Side, Trade
from apps.marketdata.services.streams import HotStoreWriter

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def ns(seconds: float) -> int:
    return int(T0.timestamp() * 1_000_000_000) + int(seconds * 1_000_000_000)


def trade(seconds: float, price: float, *, size: int = 1, seq: int = 0, symbol: str = "ESZ26") -> Trade:
    return Trade(symbol, ns(seconds), ns(seconds) + 1000, price, size, Side.BUY if seq % 2 else Side.SELL, "test", seq)


def write(batches: Sequence[Sequence[Event]], feed: str = "test") -> None:
    async def go() -> None:
        client = get_async_redis(settings.REDIS_URL)
        writer = HotStoreWriter(client, feed=feed)
        for batch in batches:
            await writer.write(batch)
        await client.aclose()

    asyncio.run(go())


CONTROL_ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("post", "/api/control/streamers/simulator/start", {}),
    ("post", "/api/control/streamers/simulator/stop", {}),
    ("post", "/api/control/streamers/simulator/resubscribe", {}),
    ("post", "/api/control/flush", {}),
    ("post", "/api/control/purge", {}),
]

# Every operation of the API, with parameters that make a valid request.
ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("get", "/api/symbols", {}),
    ("get", "/api/ticks/last", {"symbol": "ESZ26"}),
    ("get", "/api/ticks", {"symbol": "ESZ26"}),
    ("get", "/api/quotes/latest", {"symbol": "ESZ26"}),
    ("get", "/api/quotes", {"symbol": "ESZ26"}),
    ("get", "/api/depth/book", {"symbol": "ESZ26", "feed": "test"}),
    ("get", "/api/depth/compare", {"symbol": "ESZ26", "feeds": "schwab,tastytrade"}),
    ("get", "/api/bars", {"symbol": "ESZ26"}),
    ("get", "/api/gex/latest", {"ticker": "ES_SPX"}),
    ("get", "/api/gex/at", {"ticker": "ES_SPX", "at": "2026-11-24T15:00:00Z"}),
    ("get", "/api/gex/history", {"ticker": "ES_SPX"}),
    ("get", "/api/status/streamers", {}),
    ("get", "/api/status/flush", {}),
    ("get", "/api/status/queues", {}),
    ("get", "/api/alerts/recent", {}),
    *CONTROL_ENDPOINTS,
]
