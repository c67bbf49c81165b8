"""Quotes of the lake (`quote_data`), across both stores, and trades with the quote prevailing
when they printed (DuckDB ASOF JOIN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apps.core import keys
from apps.marketdata.events import Quote, Side, Trade
from apps.marketdata.selectors import StoredQuote, quotes_between
from apps.storage.connection import fetch, has_view, ns_range
from apps.storage.stream_order import stream_order
from apps.storage.trade_queries import lake_trades


def lake_quotes(*, symbol: str, start: datetime, end: datetime, lake: Path | None = None) -> list[StoredQuote]:
    """Quotes in the lake with exchange time in [start, end], in stream order."""
    if not has_view("quote_data", lake):
        return []
    rows = fetch(
        lake,
        """
        select epoch_ns(ts_event), epoch_ns(ts_recv), bid_price, bid_size, ask_price, ask_size, feed, stream_id
        from quote_data
        where symbol = ? and epoch_ns(ts_event) between ? and ? and date between ?::date and ?::date
        """,
        [symbol, *ns_range(start, end), start.astimezone(UTC).date(), end.astimezone(UTC).date()],
    )
    quotes = [
        StoredQuote(
            row[7], Quote(symbol, int(row[0]), int(row[1]), row[2], int(row[3]), row[4], int(row[5]), row[6] or "")
        )
        for row in rows
    ]
    return sorted(quotes, key=lambda item: stream_order(item.id, item.quote.ts_event))


def quotes_in_range(
    *, symbol: str, start: datetime, end: datetime, lake: Path | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> list[StoredQuote]:
    """Quotes in [start, end] from the lake and the hot store together, each once, in stream order
    (a replay's `keyspace`: its sandbox only)."""
    lake_part = lake_quotes(symbol=symbol, start=start, end=end, lake=lake) if keyspace.is_live else []
    merged = {item.id: item for item in lake_part}
    for item in quotes_between(symbol=symbol, start=start, end=end, keyspace=keyspace):
        merged.setdefault(item.id, item)
    return sorted(merged.values(), key=lambda item: stream_order(item.id, item.quote.ts_event))


@dataclass(frozen=True)
class TradeWithQuote:
    trade: Trade
    bid_price: float | None
    ask_price: float | None
    quote_ts_event: int | None


def trades_with_quotes(
    *, symbol: str, start: datetime, end: datetime, lake: Path | None = None
) -> list[TradeWithQuote]:
    """Each lake trade in [start, end] with the quote prevailing when it printed (DuckDB ASOF
    JOIN: the latest quote at or before the trade's exchange time), in time order."""
    if not has_view("tick_data", lake):
        return []
    quotes_source = "quote_data" if has_view("quote_data", lake) else None
    low, high = ns_range(start, end)
    days = [start.astimezone(UTC).date() - timedelta(days=1), end.astimezone(UTC).date()]
    if quotes_source is None:
        return [
            TradeWithQuote(item.trade, None, None, None)
            for item in lake_trades(symbol=symbol, start=start, end=end, lake=lake)
        ]
    rows = fetch(
        lake,
        """
        with t as (
            select ts_event, ts_recv, price, size, side, feed, seq from tick_data
            where symbol = ? and epoch_ns(ts_event) between ? and ? and date between ?::date and ?::date
        ), q as (
            select ts_event as quote_ts, bid_price, ask_price from quote_data
            where symbol = ? and epoch_ns(ts_event) <= ? and date between ?::date and ?::date
        )
        select epoch_ns(t.ts_event), epoch_ns(t.ts_recv), t.price, t.size, t.side, t.feed, t.seq,
               q.bid_price, q.ask_price, epoch_ns(q.quote_ts)
        from t asof left join q on t.ts_event >= q.quote_ts
        order by t.ts_event, t.seq
        """,
        [symbol, low, high, *days, symbol, high, *days],
    )
    return [
        TradeWithQuote(
            Trade(symbol, int(row[0]), int(row[1]), row[2], int(row[3]), Side(row[4]), row[5] or "", int(row[6])),
            row[7],
            row[8],
            int(row[9]) if row[9] is not None else None,
        )
        for row in rows
    ]
