"""Pages of trades and quotes over the lake and the hot store, for any reader that walks a range
a page at a time (the REST API, and later the bot and the alert engine).

Pages run in time order: `(ts_event, stream position, id)`, a total order, so a cursor (the last
item's time and id) continues exactly after it whether a trade is in the lake, still only in
Redis, or both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from apps.core import keys
from apps.core.epoch import from_epoch_ns
from apps.core.exceptions import BadInputError
from apps.core.positions import StreamPosition, StreamPositionError
from apps.marketdata.selectors import StoredQuote, StoredTrade
from apps.storage.quote_queries import quotes_in_range
from apps.storage.trade_queries import trades_in_range

T = TypeVar("T", StoredTrade, StoredQuote)
FIRST_WINDOW = timedelta(minutes=1)


def _cursor_parse(cursor: str) -> tuple[int, StreamPosition, str]:
    ts, sep, item_id = cursor.partition("_")
    try:
        if not sep or not ts.isdigit():
            raise StreamPositionError(cursor)
        return int(ts), StreamPosition.parse(item_id, ts_event=int(ts)), item_id
    except StreamPositionError:
        raise BadInputError("cursor", f"cursor {cursor!r} is not one this API returned (<ts_event>_<id>)") from None


def _page(
    fetch: Callable[[datetime, datetime], Sequence[T]],
    ts_of: Callable[[T], int],
    *,
    start: datetime,
    end: datetime,
    cursor: str | None,
    limit: int,
) -> tuple[list[T], str | None]:
    def order(item: T) -> tuple[int, StreamPosition, str]:
        return ts_of(item), StreamPosition.parse(item.id, ts_event=ts_of(item)), item.id

    after = _cursor_parse(cursor) if cursor else None
    low = start if after is None else max(start, from_epoch_ns(after[0] // 1_000_000 * 1_000_000))
    window = FIRST_WINDOW
    while True:
        # Each try reads the whole window again, so a wider one never misses what a narrower one
        # would have had; it grows until it holds more than a page or reaches `end`.
        high = min(end, low + window)
        found = sorted((item for item in fetch(low, high) if after is None or order(item) > after), key=order)
        if len(found) > limit or high >= end:
            break
        window *= 4
    page = found[:limit]
    more = len(found) > limit
    return page, (f"{ts_of(page[-1])}_{page[-1].id}" if more else None)


def trades_page(
    *,
    symbol: str,
    start: datetime,
    end: datetime,
    cursor: str | None = None,
    limit: int = 1000,
    keyspace: keys.KeySpace = keys.LIVE,
) -> tuple[list[StoredTrade], str | None]:
    """Trades with exchange time in [start, end] from the lake and the hot store, in time order,
    `limit` per page; pass `next_cursor` back as `cursor` for the next page (None: no more).
    A cursor this function did not return is a BadInputError naming `cursor`."""
    return _page(
        lambda low, high: trades_in_range(symbol=symbol, start=low, end=high, keyspace=keyspace),
        lambda item: item.trade.ts_event,
        start=start,
        end=end,
        cursor=cursor,
        limit=limit,
    )


def quotes_page(
    *,
    symbol: str,
    start: datetime,
    end: datetime,
    cursor: str | None = None,
    limit: int = 1000,
    keyspace: keys.KeySpace = keys.LIVE,
) -> tuple[list[StoredQuote], str | None]:
    """Quotes in [start, end] from the lake and the hot store, in time order, `limit` per page."""
    return _page(
        lambda low, high: quotes_in_range(symbol=symbol, start=low, end=high, keyspace=keyspace),
        lambda item: item.quote.ts_event,
        start=start,
        end=end,
        cursor=cursor,
        limit=limit,
    )
