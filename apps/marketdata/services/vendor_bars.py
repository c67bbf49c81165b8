"""A feed's own one-minute bars (Schwab's CHART_FUTURES, and its price history after a gap).

The platform's bars are built from trades (`/api/bars`); these are the vendor's, kept beside
them for comparison and for the minutes a disconnection left without trades. One sorted-set
member per minute, scored by its start: writing a minute again (live, then back-filled) replaces it.
Read with `apps.marketdata.selectors.vendor_bars_range` (REST: /api/vendor/bars).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import redis.asyncio

from apps.core import keys

# Vendor bars older than this are dropped as new ones arrive.
KEEP_MS = 7 * 24 * 3600 * 1000


class VendorBarRecord(msgspec.Struct, frozen=True, array_like=True):
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class VendorBarWrite:
    symbol: str
    bar: VendorBarRecord


_encoder = msgspec.json.Encoder()


async def vendor_bars_write(*, client: redis.asyncio.Redis, feed: str, bars: Sequence[VendorBarWrite]) -> int:
    """Upsert bars (one round trip); returns how many were written."""
    if not bars:
        return 0
    pipe = client.pipeline(transaction=False)
    newest: dict[str, int] = {}
    for item in bars:
        key = keys.vendor_bars(feed, item.symbol)
        start = item.bar.start_ms
        pipe.zremrangebyscore(key, start, start)  # type: ignore[unused-awaitable]
        pipe.zadd(key, {_encoder.encode(item.bar): start})  # type: ignore[unused-awaitable]
        newest[key] = max(newest.get(key, 0), start)
    for key, start in newest.items():
        pipe.zremrangebyscore(key, "-inf", f"({start - KEEP_MS}")  # type: ignore[unused-awaitable]
    await pipe.execute()
    return len(bars)
