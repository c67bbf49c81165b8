"""An order book at any instant: from the hot store's depth operations while they reach back that
far, else rebuilt from the lake's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from apps.core import keys
from apps.core.epoch import to_epoch_ns
from apps.core.redis import get_hot_redis
from apps.marketdata.blocks import decode_depth
from apps.marketdata.selectors import book_at
from apps.storage.book_queries import lake_book_at


@dataclass(frozen=True)
class BookView:
    feed: str
    last_update_ms: int | None
    bids: list[tuple[float, int]]
    asks: list[tuple[float, int]]


def depth_feed_latest(
    *, symbol: str, at: datetime, client: redis.Redis | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> str | None:
    """The feed of the last depth operation at or before `at` in the hot store."""
    client = client or get_hot_redis()
    at_ms = to_epoch_ns(at) // 1_000_000
    entries: Any = client.xrevrange(keyspace.depth(symbol), max=f"{at_ms}-18446744073709551615", min="-", count=1)
    if not entries:
        return None
    rows = decode_depth(entries[0][1][b"d"])
    return rows[-1].feed if rows else None


def book_view(
    *, symbol: str, at: datetime, feed: str | None, levels: int, keyspace: keys.KeySpace = keys.LIVE
) -> BookView | None:
    """The book of `feed` at `at`, `levels` deep: from the hot store, else from the lake's depth
    operations (without a last-update time). Without a feed, that of the last depth operation
    at or before `at` in the hot store. None when there is no such book. A replay's `keyspace`
    has no lake: its sandbox alone."""
    feed = feed or depth_feed_latest(symbol=symbol, at=at, keyspace=keyspace)
    if feed is None:
        return None
    book = book_at(symbol=symbol, at=at, feed=feed, keyspace=keyspace)
    if book is not None:
        sides = book.levels(levels)
        return BookView(feed, book.ts_ms or None, sides["bids"], sides["asks"])
    if not keyspace.is_live:
        return None
    lake = lake_book_at(symbol=symbol, at=at, feed=feed)
    if lake is None:
        return None
    return BookView(feed, None, lake["bids"][:levels], lake["asks"][:levels])


def books_compare(
    *, symbol: str, at: datetime, feeds: Sequence[str], levels: int, keyspace: keys.KeySpace = keys.LIVE
) -> dict[str, BookView | None]:
    """The books of several feeds at one instant, by feed (None for a feed without one)."""
    return {feed: book_view(symbol=symbol, at=at, feed=feed, levels=levels, keyspace=keyspace) for feed in feeds}
