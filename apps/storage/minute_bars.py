"""One-minute bars of the lake's trades, kept as a derived lake table (`bars_1m`) so that charts
over weeks and years read a few thousand bars per day instead of every trade.

A bars file is a pure function of one tick partition (`tick_data/date=D/symbol=S`): its name is
the signature of the tick files it was built from (names and sizes), and a reader uses it only
while that signature still matches the partition. A late flush, a compaction, an import or a
purge changes the partition, the old bars file stops matching, and the reader falls back to the
trades of that day until the bars are built again. So the bars can never disagree with the
trades, and losing them loses nothing: compaction builds them for every closed day, and
`manage.py lake_bars_rebuild` rebuilds them on demand.

Files: `{LAKE}/bars_1m/date=D/symbol=S/{signature}.parquet`, one row per minute that traded:
`minute_ns` (start of the minute, ns since the epoch), open, high, low, close, volume, trades.
A minute never spans two UTC days, so a day's file holds whole minutes. Within a minute the
open is the first trade (lowest price among trades at the same first nanosecond) and the close
the last (highest price among those at the same last nanosecond): the same rule the bars over
raw trades use, so both give identical bars.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import structlog

from apps.storage.lake import partition_dir, publish, write_temp

log = structlog.get_logger(__name__)

TABLE = "bars_1m"
SOURCE_TABLE = "tick_data"
MINUTE_NS = 60 * 1_000_000_000

SCHEMA = pa.schema(
    [
        ("minute_ns", pa.int64()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
        ("trades", pa.int64()),
    ]
)

# Trades (t, price, size) of one bucket to its bar, as both paths aggregate them. Trades sharing
# the first nanosecond open at the lowest of their prices, those sharing the last close at the
# highest: an order that does not depend on how the files were split or read.
TRADES_OHLCV = (
    "arg_min(price, (t, price)) as open, max(price) as high, min(price) as low, "
    "arg_max(price, (t, price)) as close, sum(size) as volume, count(*) as trades"
)


@dataclass(frozen=True)
class DayBars:
    """The bars file of one day and symbol (whether it exists or not) and the tick files it covers."""

    day: date
    symbol: str
    ticks: tuple[Path, ...]
    path: Path

    @property
    def current(self) -> bool:
        return bool(self.ticks) and self.path.is_file()


def tick_partition(lake: Path, day: date, symbol: str) -> Path:
    return partition_dir(lake=lake, table=SOURCE_TABLE, day=day, symbol=symbol)


def bars_dir(lake: Path, day: date, symbol: str) -> Path:
    """`bars_1m` beside `tick_data`, through the lake's path builder (the symbol is checked there)."""
    ticks = tick_partition(lake, day, symbol)
    return Path(lake) / TABLE / ticks.parent.name / ticks.name


def day_bars(lake: Path, day: date, symbol: str) -> DayBars:
    """Where the bars of `day` would be, named after the tick files the partition holds now."""
    return _day_bars(tick_partition(lake, day, symbol), bars_dir(lake, day, symbol), day, symbol)


def _day_bars(ticks: Path, bars: Path, day: date, symbol: str) -> DayBars:
    files: list[tuple[str, int, Path]] = []
    if ticks.is_dir():
        files = sorted(
            (entry.name, entry.stat().st_size, Path(entry.path))
            for entry in os.scandir(ticks)
            if entry.name.endswith(".parquet") and not entry.name.startswith(".")
        )
    digest = hashlib.sha256("\n".join(f"{name} {size}" for name, size, _ in files).encode()).hexdigest()[:32]
    return DayBars(day, symbol, tuple(path for _, _, path in files), bars / f"{digest}.parquet")


def days_bars(lake: Path, symbol: str, first: date, last: date) -> list[DayBars]:
    """`day_bars` of every day in [first, last]. The symbol and lake are checked once by the
    path builder; the other days' directories differ only by a date this code formats."""
    checked = tick_partition(lake, first, symbol)
    tables = checked.parent.parent
    bars_root = Path(lake) / TABLE
    result = []
    day = first
    while day <= last:
        part = f"date={day.isoformat()}"
        result.append(_day_bars(tables / part / checked.name, bars_root / part / checked.name, day, symbol))
        day += timedelta(days=1)
    return result


def current_days(lake: Path, symbol: str, first: date, last: date) -> list[DayBars]:
    """The days in [first, last] whose bars match their trades now."""
    return [bars for bars in days_bars(lake, symbol, first, last) if bars.current]


def parquet_list(paths: Iterable[Path]) -> str:
    """A DuckDB list literal of file paths (made by the lake's path builder; quotes doubled)."""
    return "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"


def day_bars_build(*, lake: Path, day: date, symbol: str) -> DayBars | None:
    """Build the bars of one day from its tick files (nothing when they are current already or the
    day has no trades); older bars files of the day are removed. None when the partition changed
    while it was read (a compaction swap): the next build takes the new files."""
    bars = day_bars(lake, day, symbol)
    if not bars.ticks:
        _remove_others(bars)
        return None
    if bars.path.is_file():
        return bars
    try:
        table = (
            duckdb.connect()
            .sql(
                f"""
                with trades as (
                    select epoch_ns(ts_event) as t, price, size from read_parquet({parquet_list(bars.ticks)})
                )
                select t // {MINUTE_NS} * {MINUTE_NS} as minute_ns, {TRADES_OHLCV}
                from trades group by minute_ns order by minute_ns
                """  # noqa: S608 - file paths from the lake's path builder, quoted
            )
            .to_arrow_table()
        )
    except duckdb.IOException as error:
        log.info("minute_bars.partition_changed", day=day.isoformat(), symbol=symbol, error=str(error))
        return None
    if table is None:  # DuckDB returns no table only for a statement without a result
        raise RuntimeError("the minute-bar query returned no result")
    table = pa.Table.from_arrays(table.columns, schema=SCHEMA)
    publish(write_temp(table, bars.path), bars.path)
    _remove_others(bars)
    log.info("minute_bars.built", day=day.isoformat(), symbol=symbol, minutes=table.num_rows, files=len(bars.ticks))
    return bars


def _remove_others(bars: DayBars) -> None:
    directory = bars.path.parent
    if not directory.is_dir():
        return
    for path in directory.glob("*.parquet"):
        if path != bars.path:
            path.unlink(missing_ok=True)
    if not any(directory.iterdir()):
        shutil.rmtree(directory, ignore_errors=True)


def stale_partitions(lake: Path, *, before: date | None = None) -> list[tuple[date, str]]:
    """(day, symbol) of every tick partition (before `before`) whose bars are missing or stale,
    and of every bars partition whose trades are gone."""
    found: set[tuple[date, str]] = set()
    for root in (Path(lake) / SOURCE_TABLE, Path(lake) / TABLE):
        for partition in root.glob("date=*/symbol=*"):
            try:
                day = date.fromisoformat(partition.parent.name.removeprefix("date="))
            except ValueError:
                continue
            if before is None or day < before:
                found.add((day, partition.name.removeprefix("symbol=")))
    stale = []
    for day, symbol in sorted(found):
        try:
            bars = day_bars(lake, day, symbol)
        except ValueError:  # LakePathError: a directory the path builder would not make
            continue
        if not bars.current or any(path != bars.path for path in bars.path.parent.glob("*.parquet")):
            stale.append((day, symbol))
    return stale


def minute_bars_rebuild(
    *, lake: Path, before: date | None = None, progress: Callable[[int, int], None] | None = None
) -> int:
    """Build the bars of every day (before `before`) that lacks current ones; days built."""
    stale = stale_partitions(Path(lake), before=before)
    built = 0
    for done, (day, symbol) in enumerate(stale, start=1):
        if day_bars_build(lake=Path(lake), day=day, symbol=symbol) is not None:
            built += 1
        if progress:
            progress(done, len(stale))
    return built
