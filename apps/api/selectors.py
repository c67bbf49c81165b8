"""Reads behind the REST API that combine the existing selectors: pages of trades and quotes
over the lake and the hot store, bars at any interval, books, and the platform's status.

Pages run in time order: `(ts_event, stream position, id)`, a total order, so a cursor (the
last item's time and id) continues exactly after it whether a trade is in the lake, still only
in Redis, or both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import redis
from django.conf import settings

from apps.api.inputs import BadInputError
from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text as _text
from apps.core.models import RuntimeSetting
from apps.core.queues import Queue
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.marketdata.blocks import BlockKind, decode_columns, decode_depth
from apps.marketdata.runtime_settings import STREAMER_NAMES
from apps.marketdata.selectors import StoredQuote, StoredTrade, book_at, streamer_status
from apps.marketdata.symbols import canonical
from apps.storage.bars import INTERVAL_NS, lake_bars
from apps.storage.book_queries import lake_book_at
from apps.storage.quote_queries import quotes_in_range
from apps.storage.trade_queries import trades_in_range

T = TypeVar("T", StoredTrade, StoredQuote)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_WINDOW = timedelta(minutes=1)
SCAN_COUNT = 200
MAX_BARS = 100_000
# Kombu's Redis transport: a queue with priorities is one list per priority step.
KOMBU_PRIORITY_STEPS = [0, 3, 6, 9]
KOMBU_PRIORITY_SEP = "\x06\x16"


def _to_ns(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def _from_ns(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1000)


# -- symbols -----------------------------------------------------------------------------


def symbols_configured(*, at: datetime | None = None) -> list[tuple[str | None, str]]:
    """(alias, contract) for every symbol the streamers follow; alias is None for a contract
    configured as such."""
    at = at or utc_now()
    found: dict[str, str | None] = {}
    for raw in runtime_value("marketdata.symbols"):
        contract = canonical(raw, at=at)
        alias = raw.strip().upper().lstrip("/")
        found[contract] = alias if alias != contract else found.get(contract)
    return [(alias, contract) for contract, alias in found.items()]


# -- pages of trades and quotes ----------------------------------------------------------


def _position(item_id: str) -> tuple[int, int, int]:
    """A stream id `<ms>-<seq>:<index>` as numbers; ids of imported rows sort first in their
    nanosecond (their time decides everything else)."""
    entry, _, index = item_id.rpartition(":")
    ms, dash, seq = entry.partition("-")
    if dash and ms.isdigit() and seq.isdigit() and index.isdigit():
        return int(ms), int(seq), int(index)
    return -1, -1, -1


def _cursor_parse(cursor: str) -> tuple[int, tuple[int, int, int], str]:
    ts, sep, item_id = cursor.partition("_")
    if not sep or not ts.isdigit() or not item_id:
        raise BadInputError("cursor", f"cursor {cursor!r} is not one this API returned (<ts_event>_<id>)")
    return int(ts), _position(item_id), item_id


def _page(
    fetch: Callable[[datetime, datetime], Sequence[T]],
    ts_of: Callable[[T], int],
    *,
    start: datetime,
    end: datetime,
    cursor: str | None,
    limit: int,
) -> tuple[list[T], str | None]:
    def order(item: T) -> tuple[int, tuple[int, int, int], str]:
        return ts_of(item), _position(item.id), item.id

    after = _cursor_parse(cursor) if cursor else None
    low = start if after is None else max(start, _from_ns(after[0] // 1_000_000 * 1_000_000))
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
    *, symbol: str, start: datetime, end: datetime, cursor: str | None = None, limit: int = 1000
) -> tuple[list[StoredTrade], str | None]:
    """Trades with exchange time in [start, end] from the lake and the hot store, in time order,
    `limit` per page; pass `next_cursor` back as `cursor` for the next page (None: no more)."""
    return _page(
        lambda low, high: trades_in_range(symbol=symbol, start=low, end=high),
        lambda item: item.trade.ts_event,
        start=start,
        end=end,
        cursor=cursor,
        limit=limit,
    )


def quotes_page(
    *, symbol: str, start: datetime, end: datetime, cursor: str | None = None, limit: int = 1000
) -> tuple[list[StoredQuote], str | None]:
    """Quotes in [start, end] from the lake and the hot store, in time order, `limit` per page."""
    return _page(
        lambda low, high: quotes_in_range(symbol=symbol, start=low, end=high),
        lambda item: item.quote.ts_event,
        start=start,
        end=end,
        cursor=cursor,
        limit=limit,
    )


# -- bars --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarRow:
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: int


def unflushed_since_ns(*, symbol: str, client: redis.Redis | None = None) -> int | None:
    """The earliest exchange time of a trade that may not be in the lake yet: the minimum over
    the hot stream's entries after the flush checkpoint. None when every entry was flushed."""
    client = client or get_redis()
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


def _bars_of(trades: Sequence[StoredTrade], width_ns: int) -> list[BarRow]:
    bars: dict[int, list[Any]] = {}
    for item in sorted(trades, key=lambda item: (item.trade.ts_event, _position(item.id))):
        trade = item.trade
        bucket = trade.ts_event // width_ns
        bar = bars.get(bucket)
        if bar is None:
            bars[bucket] = [trade.price, trade.price, trade.price, trade.price, trade.size]
        else:
            bar[1], bar[2], bar[3] = max(bar[1], trade.price), min(bar[2], trade.price), trade.price
            bar[4] += trade.size
    return [BarRow(bucket * width_ns // 1_000_000, *values) for bucket, values in sorted(bars.items())]


def bars_range(
    *, symbol: str, interval: str, start: datetime, end: datetime, client: redis.Redis | None = None
) -> list[BarRow]:
    """OHLCV bars of every trade in [start, end] at any interval of INTERVAL_NS, oldest first.

    Bars before the first trade that may not be flushed come from the lake (DuckDB); from that
    bar on they are built from the lake and the hot store merged, each trade once.
    """
    width = INTERVAL_NS[interval]
    start_ns, end_ns = _to_ns(start), _to_ns(end)
    if (end_ns - start_ns) // width > MAX_BARS:
        raise BadInputError(
            "start", f"{interval} bars from start to end would be more than {MAX_BARS:,}; narrow the range"
        )
    pending = unflushed_since_ns(symbol=symbol, client=client)
    split_ns = end_ns + 1 if pending is None or pending > end_ns else max(start_ns, pending // width * width)
    bars: list[BarRow] = []
    if split_ns > start_ns:
        lake_end = min(end, _from_ns(split_ns - 1))
        bars += [
            BarRow(_to_ns(bar.start) // 1_000_000, bar.open, bar.high, bar.low, bar.close, bar.volume)
            for bar in lake_bars(symbol=symbol, start=start, end=lake_end, interval=interval)
            if _to_ns(bar.start) < split_ns
        ]
    if split_ns <= end_ns:
        recent = trades_in_range(symbol=symbol, start=_from_ns(split_ns), end=end)
        bars += _bars_of([item for item in recent if item.trade.ts_event >= split_ns], width)
    return bars


# -- books -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookView:
    feed: str
    last_update_ms: int | None
    bids: list[tuple[float, int]]
    asks: list[tuple[float, int]]


def depth_feed_latest(*, symbol: str, at: datetime, client: redis.Redis | None = None) -> str | None:
    """The feed of the last depth operation at or before `at` in the hot store."""
    client = client or get_redis()
    key = keys.depth(symbol)
    at_ms = _to_ns(at) // 1_000_000
    entries: Any = client.xrevrange(key, max=f"{at_ms}-18446744073709551615", min="-", count=1)
    if not entries:
        return None
    rows = decode_depth(entries[0][1][b"d"])
    return rows[-1].feed if rows else None


def book_view(*, symbol: str, at: datetime, feed: str, levels: int) -> BookView | None:
    """The book of `feed` at `at`: from the hot store, else from the lake's depth operations."""
    book = book_at(symbol=symbol, at=at, feed=feed)
    if book is not None:
        sides = book.levels(levels)
        return BookView(feed, book.ts_ms or None, sides["bids"], sides["asks"])
    lake = lake_book_at(symbol=symbol, at=at, feed=feed)
    if lake is None:
        return None
    return BookView(feed, None, lake["bids"][:levels], lake["asks"][:levels])


# -- platform status ---------------------------------------------------------------------


@dataclass(frozen=True)
class StreamerState:
    name: str
    enabled: bool
    status: dict[str, str]


def streamers_status_list(*, client: redis.Redis | None = None) -> list[StreamerState]:
    """Every streamer the platform knows (registered, configured off, or with a status hash),
    with the status hash its process keeps (empty when it never ran)."""
    client = client or get_redis()
    # The stored row, not this process's cache: a switch made a moment ago shows at once.
    row = RuntimeSetting.objects.filter(key="marketdata.disabled_streamers").values_list("value", flat=True).first()
    disabled = set(row if row is not None else runtime_value("marketdata.disabled_streamers"))
    prefix = keys.STREAMER_STATUS_PATTERN.rstrip("*")
    running = {_text(key)[len(prefix) :] for key in client.scan_iter(match=keys.STREAMER_STATUS_PATTERN, _type="hash")}
    names = sorted(set(STREAMER_NAMES) | disabled | running)
    return [
        StreamerState(name, name not in disabled, streamer_status(name=name, client=client) if name in running else {})
        for name in names
    ]


def streamer_known(*, name: str, client: redis.Redis | None = None) -> bool:
    return any(state.name == name for state in streamers_status_list(client=client))


def queue_depths(*, client: redis.Redis | None = None) -> list[tuple[str, int]]:
    """Messages waiting in each Celery queue on the Redis broker (every priority list summed)."""
    url = settings.CELERY_BROKER_URL
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"CELERY_BROKER_URL: queue depths are read from a Redis broker, not {urlsplit(url).scheme}")
    options: dict[str, Any] = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    prefix = options.get("global_keyprefix", "")
    steps: list[int] = list(options.get("priority_steps", KOMBU_PRIORITY_STEPS))
    sep = options.get("sep", KOMBU_PRIORITY_SEP)
    client = client or get_redis(url)
    names = Queue.all_names()
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            for step in steps:
                pipe.llen(f"{prefix}{name}{sep}{step}" if step else f"{prefix}{name}")
        lengths = cast(list[int], pipe.execute())
    per_queue = len(steps)
    return [(name, sum(lengths[i * per_queue : (i + 1) * per_queue])) for i, name in enumerate(names)]


@dataclass(frozen=True)
class AlertEntry:
    id: str
    fields: dict[str, str]


def alerts_recent(*, count: int = 50, client: redis.Redis | None = None) -> list[AlertEntry]:
    """The last alerts fired, newest first."""
    client = client or get_redis()
    entries: Any = client.xrevrange(keys.ALERTS_FIRED, count=count)
    return [
        AlertEntry(_text(entry_id), {_text(key): _text(value) for key, value in raw.items()})
        for entry_id, raw in entries
    ]
