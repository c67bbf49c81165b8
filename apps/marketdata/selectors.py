"""Reads of the hot store: trades, quotes and books, by symbol and time.

Cursors are stream IDs (`<exchange ms>-<seq>`): pass the last one you received to continue
exactly after it, with no gap and no duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import msgspec
import redis

from apps.core import keys
from apps.core.clock import to_epoch_ms
from apps.core.codec import text as _text
from apps.core.redis import get_hot_redis, get_redis
from apps.marketdata.blocks import DepthOp, DepthRow, decode_depth, decode_quotes, decode_trades
from apps.marketdata.events import Quote, Side, Trade, from_price_int
from apps.marketdata.services.vendor_bars import VendorBarRecord
from apps.marketdata.vendor_records import VendorGreeks, VendorSummary

NS_PER_MS = 1_000_000
MAX_PAGE = 10_000


@dataclass(frozen=True)
class StoredTrade:
    id: str
    trade: Trade


@dataclass(frozen=True)
class TradePage:
    trades: list[StoredTrade]
    next_cursor: str | None


@dataclass
class Book:
    symbol: str
    feed: str
    ts_ms: int
    bids: dict[float, int] = field(default_factory=dict)
    asks: dict[float, int] = field(default_factory=dict)

    def levels(self, depth: int = 10) -> dict[str, list[tuple[float, int]]]:
        bids = sorted(self.bids.items(), key=lambda level: -level[0])[:depth]
        asks = sorted(self.asks.items())[:depth]
        return {"bids": bids, "asks": asks}


def _fields(raw: dict[Any, Any]) -> dict[str, str]:
    return {_text(key): _text(value) for key, value in raw.items()}


def _ms(stream_id: str) -> int:
    return int(stream_id.split("-", 1)[0])


def _data(key: str, entry_id: Any, raw: dict[Any, Any]) -> bytes:
    data = raw.get(b"d", raw.get("d"))
    if not isinstance(data, bytes):
        raise ValueError(f"{key} entry {_text(entry_id)} holds no block")
    return data


def _block(symbol: str, entry_id: Any, raw: dict[Any, Any], *, last: int | None = None) -> list[StoredTrade]:
    """The trades of one stream entry (only its `last` ones when given), each with its id."""
    stream_id = _text(entry_id)
    trades = decode_trades(symbol, _data(f"trades of {symbol}", entry_id, raw))
    first = 0 if last is None else max(0, len(trades) - last)
    return [StoredTrade(f"{stream_id}:{index}", trades[index]) for index in range(first, len(trades))]


def _client(client: redis.Redis | None) -> redis.Redis:
    return client or get_redis()


def _hot(client: redis.Redis | None) -> redis.Redis:
    """The hot store (market data): a Redis Cluster when REDIS_CLUSTER_URLS is set."""
    return client or get_hot_redis()


Entries = list[tuple[Any, dict[Any, Any]]]


def _xrange(client: redis.Redis, key: str, **kwargs: Any) -> Entries:
    return cast(Entries, client.xrange(key, **kwargs) or [])


def _xrevrange(client: redis.Redis, key: str, **kwargs: Any) -> Entries:
    return cast(Entries, client.xrevrange(key, **kwargs) or [])


def trades_last(
    *, symbol: str, count: int = 100, client: redis.Redis | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> list[StoredTrade]:
    """The `count` most recent trades, oldest first (of the live store, or a replay's `keyspace`)."""
    client, count = _hot(client), max(1, min(count, MAX_PAGE))
    collected: list[StoredTrade] = []
    high = "+"
    while len(collected) < count:
        # Blocks hold a batch each (often hundreds of trades): read a few at a time.
        entries = _xrevrange(client, keyspace.trades(symbol), max=high, min="-", count=4)
        if not entries:
            break
        for entry_id, raw in entries:
            # Only the newest trades of a block that are still wanted get an object of their own.
            collected = _block(symbol, entry_id, raw, last=count - len(collected)) + collected
            if len(collected) >= count:
                break
        high = f"({_text(entries[-1][0])}"
    return collected[-count:]


def trades_between(
    *,
    symbol: str,
    start: datetime,
    end: datetime,
    cursor: str | None = None,
    limit: int = 1000,
    client: redis.Redis | None = None,
    keyspace: keys.KeySpace = keys.LIVE,
) -> TradePage:
    """Trades with exchange time in [start, end], in stream order, `limit` per page; pass
    `next_cursor` back as `cursor` for the next page (None when there is no more). A cursor is
    a trade's id, `<entry id>:<index>`."""
    client, limit = _hot(client), max(1, min(limit, MAX_PAGE))
    key = keyspace.trades(symbol)
    start_ns, end_ns = to_epoch_ms(start) * NS_PER_MS, (to_epoch_ms(end) + 1) * NS_PER_MS
    skip_through = -1
    if cursor:
        low, _, index = cursor.rpartition(":")
        if not low or not index.isdigit():
            raise ValueError(f"cursor {cursor!r} is not a trade id (<entry id>:<index>)")
        skip_through = int(index)
    else:
        # A block starting before `start` may hold trades at or after it.
        before = _xrevrange(client, key, max=f"({to_epoch_ms(start)}-0", min="-", count=1)
        low = _text(before[0][0]) if before else f"{to_epoch_ms(start)}-0"
    high = f"{to_epoch_ms(end)}-18446744073709551615"
    page: list[StoredTrade] = []
    first_entry = low
    while len(page) <= limit:
        entries = _xrange(client, key, min=low, max=high, count=50)
        if not entries:
            break
        for entry_id, raw in entries:
            for item in _block(symbol, entry_id, raw):
                if _text(entry_id) == first_entry and cursor and int(item.id.rpartition(":")[2]) <= skip_through:
                    continue
                if start_ns <= item.trade.ts_event < end_ns:
                    page.append(item)
        low = f"({_text(entries[-1][0])}"
    more = len(page) > limit
    page = page[:limit]
    return TradePage(page, page[-1].id if more else None)


def quote_latest(
    *, symbol: str, client: redis.Redis | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> Quote | None:
    values = _fields(_hot(client).hgetall(keyspace.last(symbol)))
    if "quote_ts" not in values:
        return None
    ms = int(values["quote_ts"])
    return Quote(
        symbol=symbol,
        ts_event=ms * NS_PER_MS,
        ts_recv=ms * NS_PER_MS,
        bid_price=from_price_int(values["bid"]),
        bid_size=int(values["bid_size"]),
        ask_price=from_price_int(values["ask"]),
        ask_size=int(values["ask_size"]),
    )


def last_values(
    *, symbol: str, client: redis.Redis | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> dict[str, Any]:
    """Last trade price/size/time and the best bid/ask, as the last-value hash holds them."""
    values = _fields(_hot(client).hgetall(keyspace.last(symbol)))
    result: dict[str, Any] = {}
    if "price" in values:
        result.update(price=from_price_int(values["price"]), size=int(values["size"]), ts_ms=int(values["ts"]))
    if "bid" in values:
        result.update(
            bid=from_price_int(values["bid"]), ask=from_price_int(values["ask"]), quote_ts_ms=int(values["quote_ts"])
        )
    return result


SCAN_BATCH = 50


def _apply(book: Book, row: DepthRow) -> None:
    book.ts_ms = row.ts_event // NS_PER_MS
    if row.op is DepthOp.CLEAR:
        book.bids, book.asks = {}, {}
        return
    side = book.bids if row.side is Side.BUY else book.asks
    if row.size:
        side[row.price] = row.size
    else:
        side.pop(row.price, None)


def book_at(
    *, symbol: str, at: datetime, feed: str, client: redis.Redis | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> Book | None:
    """The book of `feed` as it stood at `at`: its latest snapshot at or before `at` with the
    updates after it applied. None when the hot store holds no snapshot of that feed before `at`."""
    client, key = _hot(client), keyspace.depth(symbol)
    at_ms = to_epoch_ms(at)
    high = f"{at_ms}-18446744073709551615"
    start: tuple[str, int] | None = None
    cursor = high
    while start is None:
        entries = _xrevrange(client, key, max=cursor, min="-", count=SCAN_BATCH)
        if not entries:
            return None
        for entry_id, raw in entries:
            rows = decode_depth(_data(key, entry_id, raw))
            for index in range(len(rows) - 1, -1, -1):
                row = rows[index]
                if row.feed == feed and row.op is DepthOp.CLEAR and row.ts_event // NS_PER_MS <= at_ms:
                    start = (_text(entry_id), index)
                    break
            if start is not None:
                break
        cursor = f"({_text(entries[-1][0])}"
    book = Book(symbol, feed, 0)
    low, skip = start[0], start[1]
    while True:
        entries = _xrange(client, key, min=low, max=high, count=SCAN_BATCH)
        for entry_id, raw in entries:
            rows = decode_depth(_data(key, entry_id, raw))
            first = skip if _text(entry_id) == start[0] else 0
            for row in rows[first:]:
                if row.feed == feed and row.ts_event // NS_PER_MS <= at_ms:
                    _apply(book, row)
        if len(entries) < SCAN_BATCH:
            return book
        low = f"({_text(entries[-1][0])}"


def depth_compare(
    *, symbol: str, feeds: tuple[str, str], at: datetime, levels: int = 10, client: redis.Redis | None = None
) -> dict[str, dict[str, Any] | None]:
    """Two feeds' books for one symbol at one instant, side by side."""
    result: dict[str, dict[str, Any] | None] = {}
    for feed in feeds:
        book = book_at(symbol=symbol, at=at, feed=feed, client=client)
        result[feed] = None if book is None else {"ts_ms": book.ts_ms, **book.levels(levels)}
    return result


@dataclass(frozen=True)
class Gap:
    id: str
    feed: str
    symbols: list[str]
    start_ms: int
    end_ms: int
    reason: str


def gaps_list(*, feed: str | None = None, count: int = 100, client: redis.Redis | None = None) -> list[Gap]:
    """Recorded gaps, newest first."""
    gaps = []
    for entry_id, raw in _xrevrange(_client(client), keys.MD_GAPS, count=count):
        values = _fields(raw)
        if feed and values["feed"] != feed:
            continue
        symbols = values["symbols"].split(",") if values["symbols"] else []
        gaps.append(
            Gap(
                _text(entry_id),
                values["feed"],
                symbols,
                int(values["start_ms"]),
                int(values["end_ms"]),
                values["reason"],
            )
        )
    return gaps


@dataclass(frozen=True)
class StoreOutage:
    id: str
    feed: str
    start_ms: int
    end_ms: int
    buffered: int
    reason: str


def store_outages_list(
    *, feed: str | None = None, count: int = 100, client: redis.Redis | None = None
) -> list[StoreOutage]:
    """Recorded outages of the hot store (a streamer buffered meanwhile), newest first."""
    outages = []
    for entry_id, raw in _xrevrange(_client(client), keys.MD_STORE_OUTAGES, count=count):
        values = _fields(raw)
        if feed and values["feed"] != feed:
            continue
        outages.append(
            StoreOutage(
                _text(entry_id),
                values["feed"],
                int(values["start_ms"]),
                int(values["end_ms"]),
                int(values["buffered"]),
                values["reason"],
            )
        )
    return outages


def dead_letters_list(*, source: str, count: int = 100, client: redis.Redis | None = None) -> list[dict[str, str]]:
    """Parked messages of one source, newest first, with reason, location and raw payload."""
    return [
        {"id": _text(entry_id), **_fields(raw)}
        for entry_id, raw in _xrevrange(_client(client), keys.dead_letter(source), count=count)
    ]


def streamer_status(
    *, name: str, client: redis.Redis | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> dict[str, str]:
    """The status hash a streamer process keeps (state, connected_since, last_message, rates); a
    replay's process keeps it in its sandbox (`keyspace`)."""
    return _fields(_client(client).hgetall(keyspace.streamer(name)))


@dataclass(frozen=True)
class StoredQuote:
    id: str
    quote: Quote


def quotes_between(
    *,
    symbol: str,
    start: datetime,
    end: datetime,
    limit: int = 100_000,
    client: redis.Redis | None = None,
    keyspace: keys.KeySpace = keys.LIVE,
) -> list[StoredQuote]:
    """Quotes with exchange time in [start, end] from the hot store, in stream order (at most `limit`)."""
    client, key = _hot(client), keyspace.quotes(symbol)
    start_ns, end_ns = to_epoch_ms(start) * NS_PER_MS, (to_epoch_ms(end) + 1) * NS_PER_MS
    before = _xrevrange(client, key, max=f"({to_epoch_ms(start)}-0", min="-", count=1)
    low = _text(before[0][0]) if before else f"{to_epoch_ms(start)}-0"
    high = f"{to_epoch_ms(end)}-18446744073709551615"
    found: list[StoredQuote] = []
    while len(found) < limit:
        entries = _xrange(client, key, min=low, max=high, count=SCAN_BATCH)
        for entry_id, raw in entries:
            for index, quote in enumerate(decode_quotes(symbol, _data(key, entry_id, raw))):
                if start_ns <= quote.ts_event < end_ns:
                    found.append(StoredQuote(f"{_text(entry_id)}:{index}", quote))
        if len(entries) < SCAN_BATCH:
            break
        low = f"({_text(entries[-1][0])}"
    return found[:limit]


_summary_decode = msgspec.json.Decoder(VendorSummary).decode
_greeks_decode = msgspec.json.Decoder(VendorGreeks).decode
_bar_decode = msgspec.json.Decoder(VendorBarRecord).decode


def vendor_summary_latest(*, feed: str, symbol: str, client: redis.Redis | None = None) -> VendorSummary | None:
    """A feed's latest day summary of a symbol (tastytrade's Summary), None when it sent none."""
    raw = _client(client).get(keys.vendor_summary(feed, symbol))
    return None if raw is None else _summary_decode(cast(bytes, raw))


def vendor_greeks_latest(*, feed: str, symbol: str, client: redis.Redis | None = None) -> VendorGreeks | None:
    """A feed's latest greeks of a symbol (tastytrade's Greeks), None when it sent none."""
    raw = _client(client).get(keys.vendor_greeks(feed, symbol))
    return None if raw is None else _greeks_decode(cast(bytes, raw))


def vendor_bars_range(
    *, feed: str, symbol: str, start_ms: int, end_ms: int, client: redis.Redis | None = None
) -> list[VendorBarRecord]:
    """A feed's own one-minute bars (Schwab's CHART_FUTURES and back-filled price history) whose
    minute starts in [start_ms, end_ms], oldest first. Hot only: the last 7 days."""
    members = cast(list[bytes], _client(client).zrangebyscore(keys.vendor_bars(feed, symbol), start_ms, end_ms))
    return [_bar_decode(member) for member in members]
