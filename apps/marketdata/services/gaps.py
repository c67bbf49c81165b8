"""Gap events: a feed was disconnected between two instants, so data may be missing there; and
store outages: the hot store refused a streamer's writes between two instants, so it buffered."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio

from apps.core import keys

GAPS_MAXLEN = 100_000


async def gap_record(
    *,
    client: redis.asyncio.Redis,
    feed: str,
    symbols: Sequence[str],
    start_ms: int,
    end_ms: int,
    reason: str,
    keyspace: keys.KeySpace = keys.LIVE,
) -> str:
    """Append a gap (feed, symbols, start, end, reason) to `md:gaps`; returns its stream ID."""
    fields = {
        "feed": feed,
        "symbols": ",".join(symbols),
        "start_ms": start_ms,
        "end_ms": end_ms,
        "reason": reason[:500],
    }
    entry_id = await client.xadd(keyspace.gaps, fields, maxlen=GAPS_MAXLEN, approximate=True)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def store_outage_record(
    *,
    client: redis.asyncio.Redis,
    feed: str,
    start_ms: int,
    end_ms: int,
    buffered: int,
    reason: str,
    keyspace: keys.KeySpace = keys.LIVE,
) -> str:
    """Append a store outage (feed, start, end, the most events it held, reason) to
    `md:store_outages`; returns its stream ID. Written once the store takes writes again."""
    fields = {"feed": feed, "start_ms": start_ms, "end_ms": end_ms, "buffered": buffered, "reason": reason[:500]}
    entry_id = await client.xadd(keyspace.store_outages, fields, maxlen=GAPS_MAXLEN, approximate=True)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
