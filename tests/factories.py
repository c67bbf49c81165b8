"""Market-data events for tests, at set instants, and writing them the way the streamers do (the
real hot-store writer). Times are seconds after `T0` unless a test names another base."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings

from apps.core.redis import get_async_redis
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Event, Level, Quote, Side, Trade
from apps.marketdata.services.streams import HotStoreWriter, WriteResult

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # Tuesday, the 09:30 New York open
SYMBOL = "ESZ26"
FEED = "test"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns(seconds: float, *, base: datetime = T0) -> int:
    """Epoch nanoseconds `seconds` after `base`, exact for whole microseconds."""
    return (base - EPOCH) // timedelta(microseconds=1) * 1000 + round(seconds * 1_000_000_000)


def trade(
    seconds: float,
    price: float,
    *,
    size: int = 1,
    seq: int = 0,
    side: Side | None = None,
    symbol: str = SYMBOL,
    feed: str = FEED,
    base: datetime = T0,
    received_after_ns: int = 1000,
) -> Trade:
    """A trade `seconds` after `base`; without a side, odd sequence numbers buy and even ones sell."""
    at = ns(seconds, base=base)
    chosen = side if side is not None else (Side.BUY if seq % 2 else Side.SELL)
    return Trade(symbol, at, at + received_after_ns, price, size, chosen, feed, seq)


def quote(
    seconds: float,
    bid: float,
    ask: float,
    *,
    bid_size: int = 1,
    ask_size: int = 1,
    symbol: str = SYMBOL,
    feed: str = FEED,
    base: datetime = T0,
) -> Quote:
    at = ns(seconds, base=base)
    return Quote(symbol, at, at, bid, bid_size, ask, ask_size, feed)


def depth_update(
    seconds: float,
    side: Side,
    price: float,
    size: int,
    *,
    symbol: str = SYMBOL,
    feed: str = FEED,
    base: datetime = T0,
) -> DepthUpdate:
    """One price level set to `size` (0 removes it)."""
    at = ns(seconds, base=base)
    return DepthUpdate(symbol, at, at, side, price, size, feed)


def depth_snapshot(
    seconds: float,
    *,
    bids: Sequence[tuple[float, int]] = ((6000.0, 10), (5999.75, 12)),
    asks: Sequence[tuple[float, int]] = ((6000.25, 8), (6000.5, 3)),
    symbol: str = SYMBOL,
    feed: str = FEED,
    base: datetime = T0,
) -> DepthSnapshot:
    at = ns(seconds, base=base)
    return DepthSnapshot(symbol, at, at, tuple(Level(p, s) for p, s in bids), tuple(Level(p, s) for p, s in asks), feed)


class Writer:
    """The hot store's writer held open on the caller's event loop, as a running streamer holds it."""

    def __init__(self, *, feed: str = FEED) -> None:
        self.client = get_async_redis(settings.REDIS_URL)
        self.writer = HotStoreWriter(self.client, feed=feed)

    async def write_batch(self, events: Sequence[Event]) -> WriteResult:
        return await self.writer.write(events)

    async def write(self, events: Sequence[Event]) -> str:
        """The id of the stream entry `events` went to; a rejected event fails the test."""
        result = await self.write_batch(events)
        assert not result.rejected, result.rejected
        return next(iter(result.last_ids.values()))

    async def close(self) -> None:
        await self.client.aclose()


async def write_async(batches: Sequence[Sequence[Event]], *, feed: str = FEED) -> list[WriteResult]:
    """Each batch through one HotStoreWriter, as a streamer writes them."""
    writer = Writer(feed=feed)
    try:
        return [await writer.write_batch(batch) for batch in batches]
    finally:
        await writer.close()


def write(batches: Sequence[Sequence[Event]], *, feed: str = FEED) -> list[WriteResult]:
    """`write_async` from synchronous test code."""
    return asyncio.run(write_async(batches, feed=feed))
