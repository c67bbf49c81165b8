"""Trades joined to the GEX levels in force at their time (DuckDB ASOF JOIN), and bars of any
interval with GEX columns and volume by aggressor side: the reads behind `enrich_tick_gex`,
`export_bars` and the bar export endpoint.

Paths come from the lake's path builder (validated table, day and symbol), listed here and
passed to DuckDB as a list of files: no input reaches a glob or the SQL text. A level "in force"
at an instant is that of the last snapshot at or before it (of the chosen package and category);
the snapshots of the day before count too, so the first trades of a day have levels.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from apps.core.exceptions import BadInputError
from apps.marketdata.symbols import ROOTS, SymbolError, canonical, canonical_check
from apps.storage.lake import partition_dir
from apps.storage.tables import STREAM_ID_SQL

_SECONDS = {"1s": 1, "5s": 5, "15s": 15, "1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "1d": 86400}
INTERVAL_US = {name: seconds * 1_000_000 for name, seconds in _SECONDS.items()}
# GEXBot's ticker for a futures root's option complex.
DEFAULT_TICKERS = {"ES": "ES_SPX", "MES": "ES_SPX", "NQ": "NQ_NDX", "MNQ": "NQ_NDX"}
LEVELS = ("spot", "zero_gamma", "major_pos_vol", "major_neg_vol", "major_pos_oi", "major_neg_oi")
# Levels a trade's distance is measured to: the gamma flip and the walls (largest positive and
# negative GEX strikes, by volume and by open interest).
DISTANCE_TO = ("zero_gamma", "major_pos_vol", "major_neg_vol", "major_pos_oi", "major_neg_oi")
EXPORT_FORMATS = ("parquet", "csv")


def files_of(*, lake: Path, table: str, day: date, symbol: str) -> list[str]:
    directory = partition_dir(lake=lake, table=table, day=day, symbol=symbol)
    return sorted(str(path) for path in directory.glob("*.parquet")) if directory.is_dir() else []


def contract_on(symbol: str, day: date) -> str:
    """The contract a symbol means on a day: itself, or a root's lead contract at the day's noon."""
    try:
        return canonical_check(
            canonical(symbol, at=datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12))
        )
    except SymbolError as error:
        raise BadInputError("symbol", f"symbol {symbol!r}: {error}") from None


def default_ticker(symbol: str) -> str | None:
    """GEXBot's ticker for a futures contract or root (ES_SPX, NQ_NDX); None when there is none:
    the GEX columns are then empty."""
    root = symbol.rstrip("0123456789")[:-1] if symbol not in ROOTS else symbol
    return DEFAULT_TICKERS.get(root) or DEFAULT_TICKERS.get(symbol)


def _gex_files(lake: Path, ticker: str | None, days: list[date]) -> list[str]:
    if ticker is None:
        return []
    return [name for day in days for name in files_of(lake=lake, table="gex_snapshots", day=day, symbol=ticker)]


# SQL texts hold only this module's constants; every value is a parameter.
_LEVEL_COLUMNS = ", ".join(LEVELS)
_GEX_FROM_FILES = (
    f"create or replace temp table g as select ts_event as gex_ts, {_LEVEL_COLUMNS}, "  # noqa: S608 - constants
    "sum_gex_vol as net_gex_vol, sum_gex_oi as net_gex_oi from read_parquet(?) where package = ? and category = ?"
)
_GEX_NONE = (
    "create or replace temp table g as select null::timestamptz as gex_ts, "
    + ", ".join(f"null::double as {name}" for name in LEVELS)
    + ", null::double as net_gex_vol, null::double as net_gex_oi where false"
)
_ENRICH = (
    "select t.ts_event, t.price, t.size, t.side, t.feed, t.seq, t.stream_id, g.gex_ts, "  # noqa: S608 - constants
    + ", ".join(f"g.{name}" for name in LEVELS)
    + ", g.net_gex_vol, g.net_gex_oi, "
    + ", ".join(f"t.price - g.{name} as dist_{name}" for name in DISTANCE_TO)
    + f", ? as gex_ticker from (select * replace ({STREAM_ID_SQL} as stream_id) from read_parquet(?)) t "  # noqa: S608
    "asof left join g on t.ts_event >= g.gex_ts "
    "order by t.ts_event, t.seq, t.stream_id"
)
_BARS = """
    with t as (
        select ts_event, price, size, side, seq, STREAM_ID as stream_id from read_parquet($trades)
        where ts_event >= $start and ts_event < $end
    ), b as (
        select time_bucket(to_microseconds($width), ts_event) as bar_start,
            first(price order by ts_event, seq, stream_id) as open, max(price) as high, min(price) as low,
            last(price order by ts_event, seq, stream_id) as close, sum(size)::bigint as volume,
            coalesce(sum(size) filter (where side = 1), 0)::bigint as buy_volume,
            coalesce(sum(size) filter (where side = 2), 0)::bigint as sell_volume,
            coalesce(sum(size) filter (where side = 0), 0)::bigint as unknown_side_volume,
            count(*)::bigint as trades
        from t group by 1
    )
    select b.*, g.gex_ts, LEVELS, g.net_gex_vol, g.net_gex_oi
    from b asof left join g on b.bar_start + to_microseconds($width) > g.gex_ts
    order by b.bar_start
""".replace("LEVELS", ", ".join(f"g.{name}" for name in LEVELS)).replace("STREAM_ID", STREAM_ID_SQL)


def _gex_source(connection: duckdb.DuckDBPyConnection, files: list[str], *, package: str, category: str) -> None:
    if files:
        connection.execute(_GEX_FROM_FILES, [files, package, category])
    else:
        connection.execute(_GEX_NONE)


def _connection() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def enriched_day(
    *, lake: Path, symbol: str, day: date, ticker: str | None, package: str, category: str
) -> pa.Table | None:
    """The trades of one partition with the GEX levels in force at each (None: no trades)."""
    trades = files_of(lake=lake, table="tick_data", day=day, symbol=symbol)
    if not trades:
        return None
    gex = _gex_files(lake, ticker, [day - timedelta(days=1), day])
    with _connection() as connection:
        _gex_source(connection, gex, package=package, category=category)
        return connection.sql(_ENRICH, params=[ticker, trades]).to_arrow_table()


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def bars_with_gex(
    *,
    lake: Path,
    symbol: str,
    start: datetime,
    end: datetime,
    interval: str,
    ticker: str | None,
    package: str = "classic",
    category: str = "gex_full",
    batch_rows: int = 50_000,
) -> Iterator[pa.RecordBatch]:
    """Bars of `interval` over [start, end) of a contract (or a root, by each day's lead
    contract): OHLC, volume, volume bought at the ask / sold at the bid / of unknown side, trades,
    and the GEX levels in force at each bar's close. Record batches, in time order."""
    if interval not in INTERVAL_US:
        raise BadInputError("interval", f"interval {interval!r} is not one of {', '.join(INTERVAL_US)}")
    days = _days(start, end)
    trades = [
        name
        for day in days
        for name in files_of(lake=lake, table="tick_data", day=day, symbol=contract_on(symbol, day))
    ]
    if not trades:
        return
    gex = _gex_files(lake, ticker, [days[0] - timedelta(days=1), *days])
    width = INTERVAL_US[interval]
    with _connection() as connection:
        _gex_source(connection, gex, package=package, category=category)
        result = connection.sql(_BARS, params={"trades": trades, "start": start, "end": end, "width": width})
        yield from result.to_arrow_reader(batch_rows)


class _Sink(io.RawIOBase):
    """A write-only file that hands what was written to a generator."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def encode_batches(batches: Iterator[pa.RecordBatch], *, fmt: str) -> Iterator[bytes]:
    """Record batches as a CSV (header first) or Parquet byte stream, chunk by chunk."""
    sink = _Sink()
    writer: Any = None
    for batch in batches:
        if writer is None:
            if fmt == "csv":
                writer = pacsv.CSVWriter(sink, batch.schema)
            else:
                writer = pq.ParquetWriter(sink, batch.schema, compression="zstd")
        writer.write_batch(batch) if fmt == "csv" else writer.write_table(pa.Table.from_batches([batch]))
        if chunk := sink.drain():
            yield chunk
    if writer is not None:
        writer.close()
    if chunk := sink.drain():
        yield chunk


def bars_export(
    *,
    lake: Path,
    symbol: str,
    start: datetime,
    end: datetime,
    interval: str,
    ticker: str | None,
    fmt: str,
    package: str = "classic",
    category: str = "gex_full",
) -> Iterator[bytes] | None:
    """The bars of `bars_with_gex` as a CSV or Parquet byte stream; None when the range holds no
    trades of the symbol (checked before the first byte, so a door can answer 404)."""
    if fmt not in EXPORT_FORMATS:
        raise BadInputError("format", f"format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    batches = bars_with_gex(
        lake=lake, symbol=symbol, start=start, end=end, interval=interval, ticker=ticker,
        package=package, category=category,
    )  # fmt: skip
    first = next(batches, None)
    if first is None:
        return None

    def all_batches() -> Iterator[pa.RecordBatch]:
        yield first
        yield from batches

    return encode_batches(all_batches(), fmt=fmt)
