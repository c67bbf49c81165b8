"""A stored day of the lake as normalized events, in the order the hot store wrote them: what
the replay streamer (`run_streamer replay --date`) sends again.

Rows of `tick_data`, `quote_data` and `depth_data` for one UTC day are merged by their stream
position (`<ms>-<seq>:<index>`; imported rows, which have none, by exchange time) and read in
chunks, so a day of tens of millions of rows never sits in memory. Depth comes back as it went
in: a CLEAR row and the SET rows of the same entry, feed and time after it are one
`DepthSnapshot` (bids and asks best first); any other SET row is a `DepthUpdate`.

Each reader has a DuckDB connection of its own: the replay reads it from a worker thread while
the streamer's event loop goes on.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings

from apps.marketdata.blocks import DepthOp
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Event, Level, Quote, Side, Trade
from apps.storage.market_tables import DEPTH, QUOTES, TRADES
from apps.storage.stream_order import position_sql

# The market-data tables storage registers (apps/storage/market_tables.py), in event-kind order.
_KINDS = (TRADES.name, QUOTES.name, DEPTH.name)
_VIEWS = {table.name: table.view for table in (TRADES, QUOTES, DEPTH)}
_TRADE, _QUOTE, _DEPTH = range(3)
# One row shape for the three tables: kind, symbol, times, then each table's own columns.
_SELECTS = {
    TRADES.name: "0, symbol, epoch_ns(ts_event), epoch_ns(ts_recv), price, size, side, feed, seq, "
    "null, null, null, null, null, stream_id",
    QUOTES.name: "1, symbol, epoch_ns(ts_event), epoch_ns(ts_recv), null, null, null, feed, null, "
    "bid_price, bid_size, ask_price, ask_size, null, stream_id",
    DEPTH.name: "2, symbol, epoch_ns(ts_event), epoch_ns(ts_event), price, size, side, feed, null, "
    "null, null, null, null, op, stream_id",
}


class LakeReplayError(ValueError):
    """The day cannot be replayed (nothing stored for it, or a bad request)."""


# DuckDB sorts the whole day; past this it spills to disk instead of taking most of the memory
# of a machine that also runs Redis (its default is 80 % of RAM).
REPLAY_MEMORY_LIMIT = "2GB"


def _connection(lake: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"SET memory_limit = '{REPLAY_MEMORY_LIMIT}'")
    connection.execute(f"SET temp_directory = '{Path(tempfile.gettempdir()) / 'pipeline-replay-duckdb'}'")
    return connection


def _tables(lake: Path, day: date) -> list[str]:
    return [table for table in _KINDS if any((lake / table / f"date={day.isoformat()}").glob("symbol=*/*.parquet"))]


def _source(lake: Path, table: str, day: date) -> str:
    files = f"read_parquet('{lake / table / f'date={day.isoformat()}' / '*' / '*.parquet'}', hive_partitioning = true)"
    return f"({_VIEWS[table].replace('{source}', files)})"


def lake_day_counts(*, day: date, symbols: Sequence[str] | None = None, lake: Path | None = None) -> dict[str, int]:
    """Rows stored for `day` per table (only tables with rows), for the symbols given or all."""
    lake = Path(lake or settings.LAKE_DIR)
    connection = _connection(lake)
    try:
        counts = {}
        for table in _tables(lake, day):
            where, params = _symbol_filter(symbols)
            row = connection.execute(
                f"select count(*) from {_source(lake, table, day)} {where}",  # noqa: S608 - names we built
                params,
            ).fetchone()
            if row and row[0]:
                counts[table] = int(row[0])
        return counts
    finally:
        connection.close()


def lake_day_span(
    *, day: date, symbols: Sequence[str] | None = None, lake: Path | None = None
) -> tuple[int, int] | None:
    """The first and last exchange time (ns) stored for `day`, over every market-data table, for
    the symbols given or all: the replay's clock runs from one to the other. None: nothing stored."""
    lake = Path(lake or settings.LAKE_DIR)
    connection = _connection(lake)
    try:
        spans = []
        for table in _tables(lake, day):
            where, params = _symbol_filter(symbols)
            row = connection.execute(
                f"select min(epoch_ns(ts_event)), max(epoch_ns(ts_event)) from {_source(lake, table, day)} {where}",  # noqa: S608
                params,
            ).fetchone()
            if row and row[0] is not None:
                spans.append((int(row[0]), int(row[1])))
        return (min(low for low, _ in spans), max(high for _, high in spans)) if spans else None
    finally:
        connection.close()


def lake_days(*, lake: Path | None = None) -> list[date]:
    """Days with market data in the lake, oldest first."""
    lake = Path(lake or settings.LAKE_DIR)
    days = set()
    for table in _KINDS:
        for directory in (lake / table).glob("date=*"):
            try:
                days.add(date.fromisoformat(directory.name.removeprefix("date=")))
            except ValueError:
                continue
    return sorted(days)


def _symbol_filter(symbols: Sequence[str] | None) -> tuple[str, list[Any]]:
    if not symbols:
        return "", []
    return "where list_contains(?, symbol)", [list(symbols)]


@dataclass
class _PendingSnapshot:
    symbol: str
    ts_event: int
    feed: str
    entry: str
    bids: dict[float, int] = field(default_factory=dict)
    asks: dict[float, int] = field(default_factory=dict)

    def event(self) -> DepthSnapshot:
        bids = tuple(Level(price, size) for price, size in sorted(self.bids.items(), key=lambda level: -level[0]))
        asks = tuple(Level(price, size) for price, size in sorted(self.asks.items()))
        return DepthSnapshot(self.symbol, self.ts_event, self.ts_event, bids, asks, self.feed)


class LakeDayReader:
    """The events of one stored day, in chunks (`chunks()`), for some symbols or all."""

    def __init__(
        self,
        *,
        day: date,
        symbols: Sequence[str] | None = None,
        lake: Path | None = None,
        rows_per_chunk: int = 5000,
    ) -> None:
        self.day = day
        self.symbols = list(symbols) if symbols else None
        self.lake = Path(lake or settings.LAKE_DIR)
        self.rows_per_chunk = rows_per_chunk

    def _query(self) -> tuple[str, list[Any]]:
        tables = _tables(self.lake, self.day)
        if not tables:
            raise LakeReplayError(f"nothing stored for {self.day.isoformat()} in {self.lake}")
        where, params = _symbol_filter(self.symbols)
        union = " union all ".join(
            f"select {_SELECTS[table]} from {_source(self.lake, table, self.day)} {where}"  # noqa: S608
            for table in tables
        )
        # Each row's position in its stream (apps/core/positions.py: imported rows, which have
        # none, by exchange time). Streams are merged by the running maximum of exchange time in
        # stream order: that never reorders a stream (a late depth update stays where the book
        # got it) and interleaves the streams by time, as the hot store's bars count late trades.
        sql = f"""
            with rows as (
                select * from ({union}) as rows (kind, symbol, ts_event, ts_recv, price, size, side, feed, seq,
                                                 bid_price, bid_size, ask_price, ask_size, op, stream_id)
            ), positioned as (
                select *,
                    {position_sql("ts_event")}
                from rows
            ), timed as (
                select *, max(ts_event) over (
                    partition by kind, symbol order by e_ms, e_seq, e_index, stream_id
                    rows between unbounded preceding and current row
                ) as merge_at
                from positioned
            )
            select kind, symbol, ts_event, ts_recv, price, size, side, feed, seq,
                   bid_price, bid_size, ask_price, ask_size, op, stream_id
            from timed
            order by merge_at, kind, symbol, e_ms, e_seq, e_index, stream_id
        """  # noqa: S608 - names we built
        return sql, params * len(tables)

    def chunks(self) -> Iterator[list[Event]]:
        sql, params = self._query()
        connection = _connection(self.lake)
        try:
            reader: Any = connection.sql(sql, params=params).to_arrow_reader(self.rows_per_chunk)
            pending: _PendingSnapshot | None = None
            for batch in reader:
                events: list[Event] = []
                columns = [column.to_pylist() for column in batch.columns]
                for row in zip(*columns, strict=True):
                    pending = self._row(row, pending, events)
                if events:
                    yield events
            if pending is not None:
                yield [pending.event()]
        finally:
            connection.close()

    @staticmethod
    def _row(row: tuple[Any, ...], pending: _PendingSnapshot | None, out: list[Event]) -> _PendingSnapshot | None:
        """Append the events `row` completes to `out`; return the snapshot still being built."""
        (kind, symbol, ts_event, ts_recv, price, size, side, feed, seq,
         bid_price, bid_size, ask_price, ask_size, op, stream_id) = row  # fmt: skip
        entry = stream_id.rpartition(":")[0]
        if pending is not None:
            same = (
                kind == _DEPTH
                and op == DepthOp.SET
                and (symbol, ts_event, feed, entry)
                == (
                    pending.symbol,
                    pending.ts_event,
                    pending.feed,
                    pending.entry,
                )
            )
            if same:
                levels = pending.bids if side == Side.BUY else pending.asks
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
                return pending
            out.append(pending.event())
            pending = None
        if kind == _TRADE:
            out.append(Trade(symbol, ts_event, ts_recv, price, size, Side(side), feed, seq))
        elif kind == _QUOTE:
            out.append(Quote(symbol, ts_event, ts_recv, bid_price, bid_size, ask_price, ask_size, feed))
        elif op == DepthOp.CLEAR:
            return _PendingSnapshot(symbol, ts_event, feed, entry)
        else:
            out.append(DepthUpdate(symbol, ts_event, ts_event, Side(side), price, size, feed))
        return None
