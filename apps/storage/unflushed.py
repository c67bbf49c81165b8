"""Where the lake ends for a symbol's trades: the earliest trade the flush may not have written
yet. Readers that merge the lake with the hot store split there."""

from __future__ import annotations

from typing import Any

import redis

from apps.core import keys
from apps.core.codec import text as _text
from apps.core.redis import get_hot_redis
from apps.marketdata.blocks import BlockKind, decode_columns

SCAN_COUNT = 200


def unflushed_since_ns(*, symbol: str, client: redis.Redis | None = None) -> int | None:
    """The earliest exchange time of a trade that may not be in the lake yet: the minimum over
    the hot stream's entries after the flush checkpoint. None when every entry was flushed."""
    client = client or get_hot_redis()
    key = keys.trades(symbol)
    checkpoint = client.hget(keys.lake_checkpoint(key), "last_id")
    low = f"({_text(checkpoint)}" if checkpoint else "-"
    earliest: int | None = None
    while True:
        entries: Any = client.xrange(key, min=low, max="+", count=SCAN_COUNT)
        for _, raw in entries:
            base_us, columns = decode_columns(raw[b"d"], BlockKind.TRADES)
            first = (base_us + int(columns[0].min())) * 1000
            earliest = first if earliest is None else min(earliest, first)
        if len(entries) < SCAN_COUNT:
            return earliest
        low = f"({_text(entries[-1][0])}"
