"""The book over a time range, as columns of a depth heatmap: the top levels as they stood at the
end of each step, rebuilt from the depth operations of the lake and of the hot store together
(operations matched by their stream position, so one flushed but not yet trimmed counts once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from apps.core import keys
from apps.core.clock import to_epoch_ms, utc_now
from apps.marketdata.blocks import DepthOp, DepthRow
from apps.marketdata.depth_reads import (
    apply_op,
    depth_clear_before,
    depth_feed_last,
    depth_ops_between,
)
from apps.marketdata.events import Side
from apps.marketdata.selectors import Book
from apps.storage.connection import fetch, has_view
from apps.storage.stream_order import stream_order

NS_PER_MS = 1_000_000
MAX_COLUMNS = 2000


@dataclass(frozen=True)
class BookColumn:
    start_ms: int  # the column covers [start_ms, start_ms + step) and shows the book at its end
    bids: list[tuple[float, int]]
    asks: list[tuple[float, int]]


@dataclass(frozen=True)
class BookHistory:
    feed: str | None
    step_ms: int
    columns: list[BookColumn]


def history_step(*, start: datetime, end: datetime, step_ms: int) -> int:
    """The step asked for, widened so that the range holds at most MAX_COLUMNS columns."""
    span = max(0, to_epoch_ms(end) - to_epoch_ms(start))
    return max(step_ms, -(-span // MAX_COLUMNS))


def _lake_feed_last(symbol: str, start: datetime, end: datetime, lake: Path | None) -> str | None:
    rows = fetch(
        lake,
        """
        select feed from depth_data
        where symbol = ? and ts_event <= ? and date between ?::date and ?::date
        order by ts_event desc limit 1
        """,
        [symbol, end, start.astimezone(UTC).date() - timedelta(days=1), end.astimezone(UTC).date()],
    )
    return str(rows[0][0]) if rows else None


def _lake_clear_before(symbol: str, feed: str, at: datetime, lake: Path | None) -> int | None:
    day = at.astimezone(UTC).date()
    rows = fetch(
        lake,
        """
        select max(epoch_ns(ts_event)) from depth_data
        where symbol = ? and feed = ? and op = 0 and epoch_ns(ts_event) <= ? and date between ?::date and ?::date
        """,
        [symbol, feed, (to_epoch_ms(at) + 1) * NS_PER_MS - 1, day - timedelta(days=1), day],
    )
    return int(rows[0][0]) // NS_PER_MS if rows and rows[0][0] is not None else None


def _lake_ops(symbol: str, feed: str, start_ms: int, end_ms: int, lake: Path | None) -> dict[str, DepthRow]:
    rows = fetch(
        lake,
        """
        select epoch_ns(ts_event), op, side, price, size, stream_id from depth_data
        where symbol = ? and feed = ? and epoch_ns(ts_event) between ? and ?
          and date between ?::date and ?::date
        """,
        [
            symbol,
            feed,
            start_ms * NS_PER_MS,
            (end_ms + 1) * NS_PER_MS - 1,
            datetime.fromtimestamp(start_ms / 1000, tz=UTC).date(),
            datetime.fromtimestamp(end_ms / 1000, tz=UTC).date(),
        ],
    )
    return {
        str(row[5]): DepthRow(int(row[0]), DepthOp(row[1]), Side(row[2]), float(row[3]), int(row[4]), feed)
        for row in rows
    }


def _top(book: Book, levels: int) -> BookColumn:
    sides = book.levels(levels)
    return BookColumn(0, sides["bids"], sides["asks"])


def book_history(
    *,
    symbol: str,
    start: datetime,
    end: datetime,
    step_ms: int,
    levels: int,
    feed: str | None = None,
    lake: Path | None = None,
    client: redis.Redis | None = None,
    keyspace: keys.KeySpace = keys.LIVE,
) -> BookHistory:
    """The book of `feed` (default: the feed that last changed a book of `symbol`) at the end of
    each `step_ms` from `start` to `end` (not past now), `levels` deep per side. The book begins at
    the newest snapshot at or before `start` (or the first one in the range: columns before it are
    empty). No depth at all: no feed and no columns. A replay's `keyspace` has no lake: its sandbox alone."""
    end = min(end, utc_now())
    step = history_step(start=start, end=end, step_ms=step_ms)
    start_ms, end_ms = to_epoch_ms(start), to_epoch_ms(end)
    if end_ms < start_ms:
        return BookHistory(feed, step, [])
    in_lake = keyspace.is_live and has_view("depth_data", lake)
    feed = feed or depth_feed_last(symbol=symbol, client=client, keyspace=keyspace)
    if feed is None and in_lake:
        feed = _lake_feed_last(symbol, start, end, lake)
    if feed is None:
        return BookHistory(None, step, [])
    hot_clear = depth_clear_before(symbol=symbol, feed=feed, at_ms=start_ms, client=client, keyspace=keyspace)
    lake_clear = _lake_clear_before(symbol, feed, start, lake) if in_lake else None
    begin = max([ms for ms in (hot_clear[2] if hot_clear else None, lake_clear) if ms is not None], default=start_ms)
    ops = _lake_ops(symbol, feed, begin, end_ms, lake) if in_lake else {}
    hot_ops = depth_ops_between(
        symbol=symbol, feed=feed, start_ms=begin, end_ms=end_ms, client=client, keyspace=keyspace
    )
    for item in hot_ops:
        ops.setdefault(item.id, item.row)
    ordered = sorted(ops.items(), key=lambda pair: stream_order(pair[0], pair[1].ts_event))

    columns: list[BookColumn] = []
    count = (end_ms - start_ms) // step + 1
    book = Book(symbol, feed, 0)
    started = False

    def close_columns_before(ms: int) -> None:
        while len(columns) < count and start_ms + (len(columns) + 1) * step <= ms:
            column = _top(book, levels)
            columns.append(BookColumn(start_ms + len(columns) * step, column.bids, column.asks))

    for _, row in ordered:
        close_columns_before(row.ts_event // NS_PER_MS)
        if row.op is DepthOp.CLEAR:
            started = True
        if started:
            apply_op(book, row)
    close_columns_before(end_ms + step)
    return BookHistory(feed, step, columns)
