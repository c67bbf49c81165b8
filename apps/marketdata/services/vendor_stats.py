"""Writes a feed's latest Summary and Greeks per symbol (`apps.marketdata.vendor_records`).

One JSON value per feed, symbol and kind, replaced by each update, so a reader gets the newest
in one GET. They expire a week after their last update, so a symbol dropped from the feed's
list does not linger.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import redis.asyncio

from apps.core import keys
from apps.marketdata.vendor_records import VendorGreeks, VendorSummary

KEEP_SECONDS = 7 * 24 * 3600
_encode = msgspec.json.Encoder().encode


async def vendor_stats_write(
    *,
    client: redis.asyncio.Redis,
    summaries: Iterable[VendorSummary] = (),
    greeks: Iterable[VendorGreeks] = (),
) -> int:
    """Store each value as its symbol's latest (one round trip); returns how many were written."""
    pipe = client.pipeline(transaction=False)
    written = 0
    for summary in summaries:
        pipe.set(keys.vendor_summary(summary.feed, summary.symbol), _encode(summary), ex=KEEP_SECONDS)  # type: ignore[unused-awaitable]
        written += 1
    for item in greeks:
        pipe.set(keys.vendor_greeks(item.feed, item.symbol), _encode(item), ex=KEEP_SECONDS)  # type: ignore[unused-awaitable]
        written += 1
    if written:
        await pipe.execute()
    return written
