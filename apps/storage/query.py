"""Reads of the lake through DuckDB: every process opens its own in-memory DuckDB over the
Parquet files (no shared DuckDB database file, which would allow only one writer process),
with views named after the seed's tables: `tick_data`, `quote_data`, `depth_data`.

Also the reads that span both stores: the lake for what was flushed, the hot streams for what
was not yet, one result without gaps or duplicates (rows are matched by `stream_id`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings

from apps.core.clock import to_epoch_ms
from apps.marketdata.events import Side, Trade
from apps.marketdata.selectors import StoredTrade, trades_between
from apps.storage.lake import TABLES

_local = threading.local()
INTERVAL_NS = {
    name: seconds * 1_000_000_000
    for name, seconds in {"1s": 1, "5s": 5, "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}.items()
}


class LakeQueryError(ValueError):
    pass


def _glob(lake: Path, table: str) -> str:
    return str(lake / table / "**" / "*.parquet")


def lake_connection(lake: Path | None = None) -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection, with a view per lake table that has files."""
    lake = lake or settings.LAKE_DIR
    cached = getattr(_local, "connections", None)
    if cached is None:
        cached = _local.connections = {}
    connection = cached.get(str(lake))
    if connection is None:
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")
        cached[str(lake)] = connection
    _refresh_views(connection, lake)
    return connection


def _refresh_views(connection: duckdb.DuckDBPyConnection, lake: Path) -> None:
    # A view over a glob with no file fails when queried, so tables without files get none;
    # the glob is read at query time, so files flushed later are seen without a refresh.
    for table in TABLES:
        if not _has(connection, table) and any((lake / table).rglob("*.parquet")):
            source = f"read_parquet('{_glob(lake, table)}', hive_partitioning = true, union_by_name = true)"
            connection.execute(f"create view {table} as select * from {source}")  # noqa: S608 - names we built


def _fetch(connection: duckdb.DuckDBPyConnection, sql: str, params: list[Any], attempts: int = 5) -> list[Any]:
    for attempt in range(attempts):
        try:
            return connection.execute(sql, params).fetchall()
        except duckdb.IOException as error:
            # Every file of the table was purged since its view was made: nothing to read.
            if "No files found" in str(error):
                return []
            # Compaction swapped a partition between listing its files and reading them: the
            # query is consistent again on a fresh listing.
            if attempt == attempts - 1:
                raise
    return []


def _has(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = connection.execute("select count(*) from duckdb_views() where view_name = ?", [table]).fetchone()
    return bool(row and row[0])


def _ns_range(start: datetime, end: datetime) -> tuple[int, int]:
    """[start, end] to the millisecond, in nanoseconds: the same bounds the hot store uses."""
    return to_epoch_ms(start) * 1_000_000, (to_epoch_ms(end) + 1) * 1_000_000 - 1


@dataclass(frozen=True)
class LakeBar:
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    trades: int


def lake_trades(*, symbol: str, start: datetime, end: datetime, lake: Path | None = None) -> list[StoredTrade]:
    """Trades in the lake with exchange time in [start, end], in stream order."""
    connection = lake_connection(lake)
    if not _has(connection, "tick_data"):
        return []
    rows = _fetch(
        connection,
        """
        select epoch_ns(ts_event), epoch_ns(ts_recv), price, size, side, feed, seq, stream_id
        from tick_data
        where symbol = ? and epoch_ns(ts_event) between ? and ?
          and date between ?::date and ?::date
        order by stream_id
        """,
        [
            symbol,
            *_ns_range(start, end),
            start.astimezone(UTC).date(),
            end.astimezone(UTC).date(),
        ],
    )
    trades = [
        StoredTrade(
            row[7],
            Trade(
                symbol, int(row[0]), int(row[1]), float(row[2]), int(row[3]), Side(row[4]), row[5] or "", int(row[6])
            ),
        )
        for row in rows
    ]
    return sorted(trades, key=_stream_order)


def _stream_order(item: StoredTrade) -> tuple[int, int, int]:
    """Stream order for rows that came through Redis (`<ms>-<seq>:<index>`); exchange time for
    imported rows (`import:<digest>:<row>`)."""
    entry, _, index = item.id.rpartition(":")
    ms, dash, seq = entry.partition("-")
    if dash and ms.isdigit() and seq.isdigit():
        return int(ms), int(seq), int(index)
    return item.trade.ts_event // 1_000_000, -1, int(index) if index.isdigit() else 0


def trades_in_range(*, symbol: str, start: datetime, end: datetime, lake: Path | None = None) -> list[StoredTrade]:
    """Trades in [start, end] from the lake and the hot store together: one continuous result in
    stream order, each trade once, whether it has been flushed, is pending, or is only in Redis."""
    merged = {item.id: item for item in lake_trades(symbol=symbol, start=start, end=end, lake=lake)}
    cursor: str | None = None
    while True:
        page = trades_between(symbol=symbol, start=start, end=end, cursor=cursor, limit=10_000)
        for item in page.trades:
            merged.setdefault(item.id, item)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return sorted(merged.values(), key=_stream_order)


def lake_bars(
    *, symbol: str, start: datetime, end: datetime, interval: str = "1m", lake: Path | None = None
) -> list[LakeBar]:
    """OHLCV bars of lake trades at any interval (DuckDB time_bucket), oldest first."""
    if interval not in INTERVAL_NS:
        raise LakeQueryError(f"interval {interval!r} is not one of {', '.join(INTERVAL_NS)}")
    connection = lake_connection(lake)
    if not _has(connection, "tick_data"):
        return []
    width = INTERVAL_NS[interval]
    # Integer nanoseconds throughout: 2-3x faster in DuckDB than time_bucket on timestamps.
    rows: list[Any] = _fetch(
        connection,
        f"""
        with trades as (
            select epoch_ns(ts_event) as ns, price, size from tick_data
            where symbol = ? and date between ?::date and ?::date
        )
        select ns // {width} as bucket, arg_min(price, ns), max(price), min(price), arg_max(price, ns),
               sum(size), count(*)
        from trades where ns between ? and ?
        group by bucket order by bucket
        """,  # noqa: S608 - the width comes from INTERVAL_NS
        [symbol, start.astimezone(UTC).date(), end.astimezone(UTC).date(), *_ns_range(start, end)],
    )
    return [
        LakeBar(
            datetime.fromtimestamp(row[0] * width / 1e9, tz=UTC),
            row[1],
            row[2],
            row[3],
            row[4],
            int(row[5]),
            int(row[6]),
        )
        for row in rows
    ]
