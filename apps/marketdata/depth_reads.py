"""Depth operations of the hot store by time, and the live book with the stream position it stands
at: a ladder starts from that book and follows /ws/depth from that position (`since`), so no
operation is missed or applied twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import redis

from apps.core import keys
from apps.core.codec import text
from apps.core.redis import get_hot_redis
from apps.marketdata.blocks import DepthOp, DepthRow, decode_depth
from apps.marketdata.events import Side
from apps.marketdata.selectors import Book

NS_PER_MS = 1_000_000
SCAN_BATCH = 50
Entries = list[tuple[Any, dict[Any, Any]]]


@dataclass(frozen=True)
class StoredDepthOp:
    id: str  # `<entry id>:<index>`, the position /ws/depth gives it
    row: DepthRow


@dataclass(frozen=True)
class LiveBook:
    book: Book
    through: str  # the last position the book includes (`<entry id>:<index>`)


def _rows(key: str, entry_id: Any, raw: dict[Any, Any]) -> list[DepthRow]:
    data = raw.get(b"d", raw.get("d"))
    if not isinstance(data, bytes):
        raise ValueError(f"{key} entry {text(entry_id)} holds no block")
    return decode_depth(data)


def _range(client: redis.Redis, key: str, low: str, high: str) -> Entries:
    return cast(Entries, client.xrange(key, min=low, max=high, count=SCAN_BATCH) or [])


def _revrange(client: redis.Redis, key: str, high: str) -> Entries:
    return cast(Entries, client.xrevrange(key, max=high, min="-", count=SCAN_BATCH) or [])


def depth_feed_last(
    *, symbol: str, client: redis.Redis | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> str | None:
    """The feed of the newest depth operation in the hot store (live, or a replay's `keyspace`)."""
    client = client or get_hot_redis()
    key = keyspace.depth(symbol)
    entries = cast(Entries, client.xrevrange(key, count=1) or [])
    if not entries:
        return None
    rows = _rows(key, *entries[0])
    return rows[-1].feed if rows else None


def depth_clear_before(
    *,
    symbol: str,
    feed: str,
    at_ms: int | None,
    client: redis.Redis | None = None,
    keyspace: keys.KeySpace = keys.LIVE,
) -> tuple[str, int, int] | None:
    """The newest snapshot start (CLEAR) of `feed` with exchange time at or before `at_ms` (None:
    any): (entry id, index in the block, exchange ms). None when the hot store holds none."""
    client, key = client or get_hot_redis(), keyspace.depth(symbol)
    cursor = "+" if at_ms is None else f"{at_ms}-18446744073709551615"
    while True:
        entries = _revrange(client, key, cursor)
        if not entries:
            return None
        for entry_id, raw in entries:
            rows = _rows(key, entry_id, raw)
            for index in range(len(rows) - 1, -1, -1):
                row = rows[index]
                ms = row.ts_event // NS_PER_MS
                if row.feed == feed and row.op is DepthOp.CLEAR and (at_ms is None or ms <= at_ms):
                    return text(entry_id), index, ms
        cursor = f"({text(entries[-1][0])}"


def depth_ops_between(
    *,
    symbol: str,
    feed: str,
    start_ms: int,
    end_ms: int,
    client: redis.Redis | None = None,
    keyspace: keys.KeySpace = keys.LIVE,
) -> list[StoredDepthOp]:
    """Operations of `feed` with exchange time in [start_ms, end_ms], in stream order."""
    client, key = client or get_hot_redis(), keyspace.depth(symbol)
    # A block written before `start_ms` may hold operations at or after it.
    before = cast(Entries, client.xrevrange(key, max=f"({start_ms}-0", min="-", count=1) or [])
    low = text(before[0][0]) if before else f"{start_ms}-0"
    high = f"{end_ms}-18446744073709551615"
    found: list[StoredDepthOp] = []
    while True:
        entries = _range(client, key, low, high)
        for entry_id, raw in entries:
            entry = text(entry_id)
            for index, row in enumerate(_rows(key, entry_id, raw)):
                if row.feed == feed and start_ms <= row.ts_event // NS_PER_MS <= end_ms:
                    found.append(StoredDepthOp(f"{entry}:{index}", row))
        if len(entries) < SCAN_BATCH:
            return found
        low = f"({text(entries[-1][0])}"


def apply_op(book: Book, row: DepthRow) -> None:
    """One operation on a book: CLEAR empties it, SET puts a level's size (0 removes the level)."""
    book.ts_ms = row.ts_event // NS_PER_MS
    if row.op is DepthOp.CLEAR:
        book.bids, book.asks = {}, {}
        return
    side = book.bids if row.side is Side.BUY else book.asks
    if row.size:
        side[row.price] = row.size
    else:
        side.pop(row.price, None)


def book_live(
    *,
    symbol: str,
    feed: str | None = None,
    client: redis.Redis | None = None,
    keyspace: keys.KeySpace = keys.LIVE,
) -> LiveBook | None:
    """The newest book of `feed` (default: the feed of the newest depth operation) and the stream
    position it includes; None when the hot store holds no snapshot of that feed."""
    client, key = client or get_hot_redis(), keyspace.depth(symbol)
    feed = feed or depth_feed_last(symbol=symbol, client=client, keyspace=keyspace)
    if feed is None:
        return None
    start = depth_clear_before(symbol=symbol, feed=feed, at_ms=None, client=client, keyspace=keyspace)
    if start is None:
        return None
    book = Book(symbol, feed, 0)
    low, through = start[0], f"{start[0]}:{start[1]}"
    while True:
        entries = _range(client, key, low, "+")
        for entry_id, raw in entries:
            entry = text(entry_id)
            rows = _rows(key, entry_id, raw)
            first = start[1] if entry == start[0] else 0
            for row in rows[first:]:
                if row.feed == feed:
                    apply_op(book, row)
            if rows:
                through = f"{entry}:{len(rows) - 1}"
        if len(entries) < SCAN_BATCH:
            return LiveBook(book, through)
        low = f"({text(entries[-1][0])}"
