"""Reads of GEX snapshots: the latest per ticker and category, the one in force at a time T,
and a history range — from the hot stream, then the lake for what has left Redis.

Positions are stream ids (`<ms>-<seq>`, the snapshot's time in milliseconds): pass the last one
back as `cursor` to continue exactly after it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, cast

import redis

from apps.core import keys
from apps.core.clock import to_epoch_ms
from apps.core.codec import text as _text
from apps.core.exceptions import BadInputError
from apps.core.positions import StreamPosition
from apps.core.redis import get_redis
from apps.gex.snapshots import GEXSnapshot, category_canonical, snapshot_decode

MAX_PAGE = 5_000
# How far back in the hot stream `snapshot_at` looks before asking the lake.
_SCAN_ENTRIES = 5_000


def _entries(client: redis.Redis, method: str, key: str, **kwargs: Any) -> list[tuple[str, GEXSnapshot]]:
    raw = cast(list[tuple[Any, dict[Any, Any]]], getattr(client, method)(key, **kwargs) or [])
    return [(_text(entry_id), snapshot_decode(fields[b"d"])) for entry_id, fields in raw if b"d" in fields]


def snapshot_latest(*, ticker: str, category: str, client: redis.Redis | None = None) -> GEXSnapshot | None:
    """The newest snapshot of a ticker and category, or None when none was recorded."""
    client = client or get_redis()
    data = client.hget(keys.gex_snapshot(ticker, category_canonical(category)), "d")
    return snapshot_decode(cast(bytes, data)) if data else None


def snapshot_at(
    *, ticker: str, category: str, at: datetime, client: redis.Redis | None = None, lake: Path | None = None
) -> GEXSnapshot | None:
    """The snapshot in force at `at`: the newest with timestamp ≤ `at`, from Redis or the lake."""
    client, category = client or get_redis(), category_canonical(category)
    at_s = to_epoch_ms(at) // 1000
    high = f"{at_s * 1000 + 999}-18446744073709551615"
    for _, snapshot in _entries(
        client, "xrevrange", keys.gex_snapshots(ticker), max=high, min="-", count=_SCAN_ENTRIES
    ):
        if snapshot.category == category and snapshot.timestamp <= at_s:
            return snapshot
    from apps.gex.lake_reads import lake_gex_at

    return lake_gex_at(ticker=ticker, category=category, at=at, lake=lake)


def snapshots_between(
    *,
    ticker: str,
    category: str,
    start: datetime,
    end: datetime,
    cursor: str | None = None,
    limit: int = 500,
    client: redis.Redis | None = None,
    lake: Path | None = None,
) -> tuple[list[tuple[str, GEXSnapshot]], str | None]:
    """Snapshots with timestamp in [start, end], oldest first, `limit` per page, from the lake and
    the hot stream without duplicates; returns (page of (position, snapshot), next cursor or None)."""
    from apps.gex.lake_reads import lake_gex_between

    client, category, limit = client or get_redis(), category_canonical(category), max(1, min(limit, MAX_PAGE))
    start_s, end_s = to_epoch_ms(start) // 1000, to_epoch_ms(end) // 1000
    after: StreamPosition | None = None
    if cursor is not None:
        try:
            after = StreamPosition.parse(cursor)
        except ValueError:
            after = None
        if after is None or after.index is not None:
            raise BadInputError("cursor", f"cursor {cursor!r} is not a GEX position (<ms>-<seq>)")
    found: dict[str, GEXSnapshot] = dict(
        lake_gex_between(ticker=ticker, category=category, start=start, end=end, lake=lake)
    )
    low = f"({cursor}" if cursor else f"{start_s * 1000}-0"
    high = f"{end_s * 1000 + 999}-18446744073709551615"
    found.update(_entries(client, "xrange", keys.gex_snapshots(ticker), min=low, max=high))
    rows = sorted(
        (
            (stream_id, snapshot)
            for stream_id, snapshot in found.items()
            if (after is None or StreamPosition.parse(stream_id) > after)
            and snapshot.category == category
            and start_s <= snapshot.timestamp <= end_s
        ),
        key=lambda row: StreamPosition.parse(row[0]),
    )
    page = rows[:limit]
    return page, (page[-1][0] if len(rows) > limit else None)
