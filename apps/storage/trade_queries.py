"""Trades of the lake (`tick_data`), and trades across both stores: the lake for what was
flushed, the hot stream for what was not yet, one result without gaps or duplicates (rows are
matched by `stream_id`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apps.core import keys
from apps.core.positions import StreamPosition
from apps.marketdata.events import Side, Trade
from apps.marketdata.selectors import StoredTrade, trades_between
from apps.storage.connection import fetch, has_view, ns_range
from apps.storage.stream_order import IMPORTED_SQL, first_day, position_sql, stream_order


def lake_trades(*, symbol: str, start: datetime, end: datetime, lake: Path | None = None) -> list[StoredTrade]:
    """Trades in the lake with exchange time in [start, end], in stream order."""
    if not has_view("tick_data", lake):
        return []
    rows = fetch(
        lake,
        """
        select epoch_ns(ts_event), epoch_ns(ts_recv), price, size, side, feed, seq, stream_id
        from tick_data
        where symbol = ? and epoch_ns(ts_event) between ? and ?
          and date between ?::date and ?::date
        order by stream_id
        """,
        [
            symbol,
            *ns_range(start, end),
            start.astimezone(UTC).date(),
            end.astimezone(UTC).date(),
        ],
    )
    return sorted((stored_trade(symbol, row) for row in rows), key=_stream_order)


def stored_trade(symbol: str, row: Any) -> StoredTrade:
    """A lake row (ts_event ns, ts_recv ns, price, size, side, feed, seq, stream_id) as the hot
    store's lookups return trades."""
    return StoredTrade(
        row[7],
        Trade(symbol, int(row[0]), int(row[1]), float(row[2]), int(row[3]), Side(row[4]), row[5] or "", int(row[6])),
    )


def _after_query(symbol: str, after: StreamPosition, before_entry: tuple[int, int] | None) -> tuple[str, list[Any]]:
    """Rows of `symbol` after stream position `after` and before entry `before_entry`, with
    their position as (e_ms, e_seq, e_index)."""
    ms, seq = after.entry
    before = "and (e_ms < ? or (e_ms = ? and e_seq < ?))" if before_entry else ""
    before_params = [before_entry[0], before_entry[0], before_entry[1]] if before_entry else []
    sql = f"""
        select * from (
            select epoch_ns(ts_event), epoch_ns(ts_recv), price, size, side, feed, seq, stream_id,
                {position_sql("epoch_ns(ts_event)")}
            from tick_data
            where symbol = ? and date >= ?::date and not {IMPORTED_SQL}
        )
        where (e_ms > ? or (e_ms = ? and (e_seq > ? or (e_seq = ? and e_index > ?)))) {before}
    """  # noqa: S608 - only our own fragments are formatted in
    # No index: the whole entry was seen, so every index of it is excluded.
    params = [symbol, first_day(ms), ms, ms, seq, seq, after.index_order, *before_params]
    return sql, params


def lake_trades_after(
    *,
    symbol: str,
    after: StreamPosition,
    before_entry: tuple[int, int] | None = None,
    limit: int = 10_000,
    lake: Path | None = None,
) -> list[StoredTrade]:
    """Trades that came through the hot store after stream position `after` (an item, or a
    whole entry), and before entry `before_entry` when
    given, in stream order, at most `limit`. Imported rows have no stream position and are not
    included. What a WebSocket client resuming from a position the hot store no longer holds
    is sent first."""
    if not has_view("tick_data", lake):
        return []
    sql, params = _after_query(symbol, after, before_entry)
    rows = fetch(lake, f"{sql} order by e_ms, e_seq, e_index limit ?", [*params, limit])
    return [stored_trade(symbol, row) for row in rows]


def lake_trades_entry_exists(*, symbol: str, entry: tuple[int, int], lake: Path | None = None) -> bool:
    """Whether the lake holds rows of hot-store entry `entry` ((ms, seq)) of `symbol`."""
    if not has_view("tick_data", lake):
        return False
    ms, seq = entry
    rows = fetch(
        lake,
        "select count(*) from (select 1 from tick_data where symbol = ? and date >= ?::date"
        " and starts_with(stream_id, ?) limit 1)",
        [symbol, first_day(ms), f"{ms}-{seq}:"],
    )
    return bool(rows and rows[0][0])


def lake_trades_after_count(
    *,
    symbol: str,
    after: StreamPosition,
    before_entry: tuple[int, int] | None = None,
    lake: Path | None = None,
) -> int:
    """How many trades `lake_trades_after` would give without a limit."""
    if not has_view("tick_data", lake):
        return 0
    sql, params = _after_query(symbol, after, before_entry)
    rows = fetch(lake, f"select count(*) from ({sql})", params)  # noqa: S608 - our own query
    return int(rows[0][0]) if rows else 0


def _stream_order(item: StoredTrade) -> StreamPosition:
    return stream_order(item.id, item.trade.ts_event)


def trades_in_range(
    *, symbol: str, start: datetime, end: datetime, lake: Path | None = None, keyspace: keys.KeySpace = keys.LIVE
) -> list[StoredTrade]:
    """Trades in [start, end] from the lake and the hot store together: one continuous result in
    stream order, each trade once, whether it has been flushed, is pending, or is only in Redis.
    A replay's `keyspace` has no lake: its sandbox alone holds it."""
    lake_part = lake_trades(symbol=symbol, start=start, end=end, lake=lake) if keyspace.is_live else []
    merged = {item.id: item for item in lake_part}
    cursor: str | None = None
    while True:
        page = trades_between(symbol=symbol, start=start, end=end, cursor=cursor, limit=10_000, keyspace=keyspace)
        for item in page.trades:
            merged.setdefault(item.id, item)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return sorted(merged.values(), key=_stream_order)
