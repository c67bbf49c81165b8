"""One-minute bars of the lake's trades, kept as a derived lake table (`bars_1m`) so that charts
over weeks and years read a few thousand bars per day instead of every trade, and a monthly
roll-up of them (`bars_1m_months`) so that a year is a dozen files instead of 250.

A bars file is a pure function of one tick partition (`tick_data/date=D/symbol=S`): its name is
the signature of the tick files it was built from (names and sizes), and a reader uses it only
while that signature still matches the partition. A late flush, a compaction, an import or a
purge changes the partition, the old bars file stops matching, and the reader falls back to the
trades of that day until the bars are built again. So the bars can never disagree with the
trades, and losing them loses nothing: compaction builds them for every closed day, and
`manage.py lake_bars` rebuilds them on demand.

Files: `{LAKE}/bars_1m/date=D/symbol=S/{signature}.parquet`, one row per minute that traded:
`minute_ns` (start of the minute, ns since the epoch), open, high, low, close, volume, trades.
A minute never spans two UTC days, so a day's file holds whole minutes. Within a minute the
open is the first trade (lowest price among trades at the same first nanosecond) and the close
the last (highest price among those at the same last nanosecond): the same rule the bars over
raw trades use, so both give identical bars.

Roll-ups: `{LAKE}/bars_1m_months/month=YYYY-MM/symbol=S/{first}_{last}_{digest}.parquet`, the
rows of the day files of every day from `first` to `last` (one month) that has trades, in
order. `digest` hashes those days' dates and signatures, so a roll-up is current exactly while
every day it holds is: a change to any of them, or trades appearing on a day in between that had
none, makes it stale, and the reader uses the day files (or the trades) of that month instead.
Built after the day files for the closed days of each month (two days or more).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import structlog

from apps.storage.lake import partition_dir, publish, write_temp

log = structlog.get_logger(__name__)

TABLE = "bars_1m"
MONTHS_TABLE = "bars_1m_months"
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
    ticks: tuple[str, ...]
    signature: str
    directory: str  # bars_1m/date=D/symbol=S

    @property
    def path(self) -> Path:
        return Path(self.directory) / f"{self.signature}.parquet"

    @property
    def current(self) -> bool:
        return bool(self.ticks) and os.path.isfile(os.path.join(self.directory, f"{self.signature}.parquet"))


@dataclass(frozen=True)
class MonthBars:
    """The roll-up of one month and symbol: the days it holds (those with trades) and its file."""

    month: date  # the first of the month
    symbol: str
    days: tuple[DayBars, ...]
    path: Path

    @property
    def first(self) -> date:
        return self.days[0].day

    @property
    def last(self) -> date:
        return self.days[-1].day


def tick_partition(lake: Path, day: date, symbol: str) -> Path:
    return partition_dir(lake=lake, table=SOURCE_TABLE, day=day, symbol=symbol)


def bars_dir(lake: Path, day: date, symbol: str) -> Path:
    """`bars_1m` beside `tick_data`, through the lake's path builder (the symbol is checked there)."""
    ticks = tick_partition(lake, day, symbol)
    return Path(lake) / TABLE / ticks.parent.name / ticks.name


def months_dir(lake: Path, month: date, symbol: str) -> Path:
    """`bars_1m_months/month=YYYY-MM/symbol=S` (the symbol checked by the lake's path builder)."""
    ticks = tick_partition(lake, month, symbol)
    return Path(lake) / MONTHS_TABLE / f"month={month:%Y-%m}" / ticks.name


def day_bars(lake: Path, day: date, symbol: str) -> DayBars:
    """Where the bars of `day` would be, named after the tick files the partition holds now."""
    return _day_bars(str(tick_partition(lake, day, symbol)), str(bars_dir(lake, day, symbol)), day, symbol)


def _day_bars(ticks: str, bars: str, day: date, symbol: str) -> DayBars:
    for attempt in range(10):
        try:
            with os.scandir(ticks) as entries:
                files = sorted(
                    (entry.name, entry.stat().st_size, entry.path)
                    for entry in entries
                    if entry.name.endswith(".parquet") and not entry.name.startswith(".")
                )
            break
        except (FileNotFoundError, NotADirectoryError):
            # No partition; or compaction swapped it between the listing and a file's size: again.
            if not os.path.isdir(ticks):
                files = []
                break
            if attempt == 9:
                raise
    digest = hashlib.sha256("\n".join(f"{name} {size}" for name, size, _ in files).encode()).hexdigest()[:32]
    return DayBars(day, symbol, tuple(path for _, _, path in files), digest, bars)


def days_bars(lake: Path, symbol: str, first: date, last: date) -> list[DayBars]:
    """`day_bars` of every day in [first, last]. The symbol and lake are checked once by the
    path builder; the other days' directories differ only by a date this code formats."""
    checked = tick_partition(lake, first, symbol)
    tables = str(checked.parent.parent)
    bars_root = str(Path(lake) / TABLE)
    name = checked.name
    result = []
    day = first
    while day <= last:
        part = f"date={day.isoformat()}"
        result.append(_day_bars(f"{tables}/{part}/{name}", f"{bars_root}/{part}/{name}", day, symbol))
        day += timedelta(days=1)
    return result


def current_days(lake: Path, symbol: str, first: date, last: date) -> list[DayBars]:
    """The days in [first, last] whose bars match their trades now."""
    return [bars for bars in days_bars(lake, symbol, first, last) if bars.current]


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _month_name(days: tuple[DayBars, ...]) -> str:
    digest = hashlib.sha256("\n".join(f"{bars.day.isoformat()} {bars.signature}" for bars in days).encode())
    return f"{days[0].day.isoformat()}_{days[-1].day.isoformat()}_{digest.hexdigest()[:32]}.parquet"


def _month_file_days(name: str) -> tuple[date, date] | None:
    """(first, last) day a roll-up file's name says it holds; None for a name this code did not make."""
    parts = name.removesuffix(".parquet").split("_")
    if len(parts) != 3 or not name.endswith(".parquet"):
        return None
    try:
        return date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
    except ValueError:
        return None


def month_file_first_day(path: Path) -> date | None:
    """The first day a roll-up file holds (purge removes a roll-up holding any day it purges)."""
    if MONTHS_TABLE not in path.parts:
        return None
    days = _month_file_days(path.name)
    return days[0] if days else None


def current_months(lake: Path, symbol: str, days: list[DayBars]) -> list[MonthBars]:
    """The current roll-ups among `days` (consecutive days, `days_bars`): each holds only days of
    the list, and its name matches their signatures now. At most one per month."""
    if not days:
        return []
    by_day = {bars.day: bars for bars in days}
    root = months_dir(lake, days[0].day, symbol).parent.parent
    name = f"symbol={symbol}"
    found = []
    month = month_start(days[0].day)
    while month <= days[-1].day:
        directory = root / f"month={month:%Y-%m}" / name
        try:
            names = sorted(os.listdir(directory), reverse=True)  # the latest last day first
        except (FileNotFoundError, NotADirectoryError):
            names = []
        for file in names:
            span = _month_file_days(file)
            if span is None or span[0] not in by_day or span[1] not in by_day:
                continue
            held = tuple(
                bars for offset in range((span[1] - span[0]).days + 1)
                if (bars := by_day[span[0] + timedelta(days=offset)]).ticks
            )  # fmt: skip
            if held and _month_name(held) == file:
                found.append(MonthBars(month, symbol, held, directory / file))
                break
        month = month_end(month) + timedelta(days=1)
    return found


def parquet_list(paths: Iterable[Path | str]) -> str:
    """A DuckDB list literal of file paths (made by the lake's path builder; quotes doubled)."""
    return "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"


def day_bars_build(*, lake: Path, day: date, symbol: str) -> DayBars | None:
    """Build the bars of one day from its tick files (nothing when they are current already or the
    day has no trades); older bars files of the day are removed. None when the partition changed
    while it was read (a compaction swap): the next build takes the new files."""
    bars = day_bars(lake, day, symbol)
    if not bars.ticks:
        _remove_others(Path(bars.directory), keep=None)
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
    _remove_others(Path(bars.directory), keep=bars.path)
    log.info("minute_bars.built", day=day.isoformat(), symbol=symbol, minutes=table.num_rows, files=len(bars.ticks))
    return bars


def _month_expected(
    lake: Path, month: date, symbol: str, before: date | None
) -> tuple[list[DayBars], MonthBars | None]:
    """The days of `month` (before `before`) and the roll-up they call for: every one of them that
    has trades, when there are two or more (None otherwise)."""
    last = month_end(month) if before is None else min(month_end(month), before - timedelta(days=1))
    if last < month:
        return [], None
    days = days_bars(lake, symbol, month, last)
    held = tuple(bars for bars in days if bars.ticks)
    if len(held) < 2:
        return days, None
    return days, MonthBars(month, symbol, held, months_dir(lake, month, symbol) / _month_name(held))


def _month_current(lake: Path, month: date, symbol: str, expected: MonthBars | None) -> MonthBars | None:
    """The current roll-up of the month to keep: one holding at least the expected days (a
    current one may lack a day before its first: trades imported there after it was built)."""
    days = days_bars(lake, symbol, month, month_end(month))
    for found in current_months(lake, symbol, days):
        if expected is None or (found.first <= expected.first and found.last >= expected.last):
            return found
    return None


def month_bars_build(*, lake: Path, month: date, symbol: str, before: date | None = None) -> MonthBars | None:
    """Roll up the day files of `month` (days before `before`) into one file, when every such day
    with trades has current bars (and there are two or more); other roll-ups of the month are
    removed. A current roll-up holding as many days or more is kept as it is."""
    month = month_start(month)
    _, expected = _month_expected(lake, month, symbol, before)
    directory = months_dir(lake, month, symbol)
    kept = _month_current(lake, month, symbol, expected)
    if kept is not None:
        _remove_others(directory, keep=kept.path)
        return kept
    if expected is None or not all(bars.current for bars in expected.days):
        _remove_others(directory, keep=None)
        return None
    try:
        table = (
            duckdb.connect()
            .sql(
                f"select {', '.join(SCHEMA.names)} "  # noqa: S608 - paths from the lake's path builder
                f"from read_parquet({parquet_list(bars.path for bars in expected.days)}, hive_partitioning = false) "
                "order by minute_ns"
            )
            .to_arrow_table()
        )
    except duckdb.IOException as error:  # a day's bars were rebuilt meanwhile: next time
        log.info("minute_bars.month_changed", month=f"{month:%Y-%m}", symbol=symbol, error=str(error))
        return None
    if table is None:
        raise RuntimeError("the roll-up query returned no result")
    table = pa.Table.from_arrays(table.columns, schema=SCHEMA)
    publish(write_temp(table, expected.path), expected.path)
    _remove_others(directory, keep=expected.path)
    log.info("minute_bars.month_built", month=f"{month:%Y-%m}", symbol=symbol, days=len(expected.days))
    return expected


def _remove_others(directory: Path, *, keep: Path | None) -> None:
    if not directory.is_dir():
        return
    for path in directory.glob("*.parquet"):
        if path != keep:
            path.unlink(missing_ok=True)
    if not any(directory.iterdir()):
        shutil.rmtree(directory, ignore_errors=True)


def _partitions(lake: Path, before: date | None) -> Iterator[tuple[date, str]]:
    """(day, symbol) of every tick or bars partition before `before`, and the first day of
    every month of a roll-up (with the symbol)."""
    for root in (Path(lake) / SOURCE_TABLE, Path(lake) / TABLE):
        for partition in root.glob("date=*/symbol=*"):
            try:
                day = date.fromisoformat(partition.parent.name.removeprefix("date="))
            except ValueError:
                continue
            if before is None or day < before:
                yield day, partition.name.removeprefix("symbol=")
    for partition in (Path(lake) / MONTHS_TABLE).glob("month=*/symbol=*"):
        try:
            month = date.fromisoformat(partition.parent.name.removeprefix("month=") + "-01")
        except ValueError:
            continue
        if before is None or month < before:
            yield month, partition.name.removeprefix("symbol=")


def stale_partitions(lake: Path, *, before: date | None = None) -> list[tuple[date, str]]:
    """(day, symbol) of every tick partition (before `before`) whose bars are missing or stale,
    and of every bars partition whose trades are gone."""
    stale = []
    for day, symbol in sorted(set(_partitions(lake, before))):
        try:
            bars = day_bars(lake, day, symbol)
        except ValueError:  # LakePathError: a directory the path builder would not make
            continue
        if (bars.ticks or os.path.isdir(bars.directory)) and (
            not bars.current or any(path != bars.path for path in Path(bars.directory).glob("*.parquet"))
        ):
            stale.append((day, symbol))
    return stale


def stale_months(lake: Path, *, before: date | None = None) -> list[tuple[date, str]]:
    """(first of the month, symbol) of every month (its days before `before`) whose roll-up is
    missing, holds fewer days than it could, or is not the only file of its directory."""
    months = {(month_start(day), symbol) for day, symbol in _partitions(lake, before)}
    stale = []
    for month, symbol in sorted(months):
        try:
            _, expected = _month_expected(lake, month, symbol, before)
            directory = months_dir(lake, month, symbol)
        except ValueError:
            continue
        kept = _month_current(lake, month, symbol, expected)
        files = list(directory.glob("*.parquet")) if directory.is_dir() else []
        if (expected is not None and kept is None) or any(kept is None or path != kept.path for path in files):
            stale.append((month, symbol))
    return stale


def minute_bars_rebuild(
    *, lake: Path, before: date | None = None, progress: Callable[[int, int], None] | None = None
) -> int:
    """Build the bars of every day (before `before`) that lacks current ones, then the roll-up of
    every month that lacks a current one; days built."""
    stale = stale_partitions(Path(lake), before=before)
    built = 0
    for done, (day, symbol) in enumerate(stale, start=1):
        if day_bars_build(lake=Path(lake), day=day, symbol=symbol) is not None:
            built += 1
        if progress:
            progress(done, len(stale))
    for month, symbol in stale_months(Path(lake), before=before):
        month_bars_build(lake=Path(lake), month=month, symbol=symbol, before=before)
    return built
