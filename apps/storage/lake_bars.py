"""OHLCV bars of lake trades at any interval (DuckDB), with the bars of closed days remembered
per process."""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings

from apps.core.clock import utc_now
from apps.core.epoch import from_epoch_ns
from apps.core.sessions import SessionKind
from apps.storage.bar_windows import BarGrid, bar_grid
from apps.storage.connection import LakeQueryError, duckdb_rows, ns_range
from apps.storage.minute_bars import (
    MINUTE_NS,
    TRADES_OHLCV,
    MonthBars,
    current_months,
    days_bars,
    month_end,
    month_start,
    parquet_list,
)

INTERVAL_NS = {
    name: seconds * 1_000_000_000
    for name, seconds in {
        "1s": 1, "5s": 5, "15s": 15, "30s": 30, "1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600,
        "4h": 14_400, "1d": 86_400,
    }.items()
}  # fmt: skip


@dataclass(frozen=True)
class LakeBar:
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    trades: int


def _partition_signature(lake: Path, symbol: str, start: datetime, end: datetime) -> tuple[Any, ...] | None:
    """What the files of `symbol` in [start, end] are (names, sizes, change times), or None when
    the range reaches into today, whose partition grows with every flush."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    if last >= utc_now().date() or (last - first).days > 31:
        return None
    signature: list[Any] = []
    day = first
    while day <= last:
        directory = lake / "tick_data" / f"date={day.isoformat()}" / f"symbol={symbol}"
        if directory.is_dir():
            for entry in sorted(os.scandir(directory), key=lambda item: item.name):
                info = entry.stat()
                signature.append((entry.name, info.st_size, info.st_mtime_ns))
        day += timedelta(days=1)
    return tuple(signature)


# Bars of closed days, per process: a closed partition changes only by compaction or purge,
# which change its file signature. A trader's chart asks for the same days again and again.
_BARS_CACHE: OrderedDict[tuple[Any, ...], list[LakeBar]] = OrderedDict()
_BARS_CACHE_SIZE = 64
_bars_cache_lock = threading.Lock()


def lake_bars_cache_clear() -> None:
    """Forget this process's remembered bars (benchmarks measure the query itself)."""
    with _bars_cache_lock:
        _BARS_CACHE.clear()


def lake_bars(
    *,
    symbol: str,
    start: datetime,
    end: datetime,
    interval: str = "1m",
    session: SessionKind | None = None,
    lake: Path | None = None,
) -> list[LakeBar]:
    """OHLCV bars of lake trades at any interval (DuckDB), oldest first. With a `session`, bars
    follow the exchange's trading days (apps/storage/bar_windows.py: a 1d ETH bar starts at
    18:00 New York the evening before); without, they are cut from the Unix epoch (UTC days).
    Ranges of closed days are remembered per process until their files change."""
    if interval not in INTERVAL_NS:
        raise LakeQueryError(f"interval {interval!r} is not one of {', '.join(INTERVAL_NS)}")
    signature = _partition_signature(Path(lake or settings.LAKE_DIR), symbol, start, end)
    key = (str(lake or settings.LAKE_DIR), symbol, interval, session, start, end, signature)
    if signature is not None:
        with _bars_cache_lock:
            if key in _BARS_CACHE:
                _BARS_CACHE.move_to_end(key)
                return list(_BARS_CACHE[key])
    if session is None:
        bars = _lake_bars(symbol=symbol, start=start, end=end, interval=interval, lake=lake)
    else:
        bars = _lake_session_bars(symbol=symbol, start=start, end=end, interval=interval, session=session, lake=lake)
    if signature is not None:
        with _bars_cache_lock:
            _BARS_CACHE[key] = list(bars)
            while len(_BARS_CACHE) > _BARS_CACHE_SIZE:
                _BARS_CACHE.popitem(last=False)
    return bars


def _lake_bars(*, symbol: str, start: datetime, end: datetime, interval: str, lake: Path | None) -> list[LakeBar]:
    width = INTERVAL_NS[interval]
    # Integer nanoseconds throughout: 2-3x faster in DuckDB than time_bucket on timestamps.
    rows = _bucketed(
        symbol=symbol, start=start, end=end, width=width, lake=lake, bucket=f"r.ns // {width} * {width}", windows=None
    )
    return [_bar(row) for row in rows]


def _lake_session_bars(
    *, symbol: str, start: datetime, end: datetime, interval: str, session: SessionKind, lake: Path | None
) -> list[LakeBar]:
    width = INTERVAL_NS[interval]
    grid = bar_grid(session=session, width_ns=width, start=start, end=end)
    if not grid.windows:
        return []
    # The same arithmetic as BarGrid.bucket (the hot store's side), in integer nanoseconds.
    bucket = (
        "w.open_ns" if grid.daily else f"greatest(w.anchor_ns + (r.ns - w.anchor_ns) // {width} * {width}, w.start_ns)"
    )
    rows = _bucketed(symbol=symbol, start=start, end=end, width=width, lake=lake, bucket=bucket, windows=grid)
    return [_bar(row) for row in rows]


def _grain(width: int, windows: BarGrid | None) -> int:
    """The longest span whose multiples every bar edge falls on: no bar starts or ends inside one,
    so the rows are aggregated to it before they are bucketed (an hour for ETH bars, a day for
    UTC days) and the windows are joined to a few thousand rows instead of every minute."""
    if windows is None:
        return width
    edges = [value for window in windows.windows for value in (window.start_ns, window.end_ns)]
    if not windows.daily:  # a 1d bar is its whole window; shorter ones align to the anchor
        edges += [window.anchor_ns for window in windows.windows]
    return math.gcd(width, *edges)


def _bucketed(
    *, symbol: str, start: datetime, end: datetime, width: int, lake: Path | None, bucket: str, windows: BarGrid | None
) -> list[Any]:
    """(bucket ns, open, high, low, close, volume, trades) per bucket, oldest first, from the
    one-minute bars of the days that have current ones (apps/storage/minute_bars.py: a month's
    roll-up, else the day's file) and the trades of the others. Both give the same bars: a bar's
    rows are whole minutes whenever its edges are."""
    lake_dir = Path(lake or settings.LAKE_DIR)
    grain = _grain(width, windows)
    for attempt in range(_ATTEMPTS):
        source, params = _source(symbol=symbol, start=start, end=end, grain=grain, lake=lake_dir)
        if source is None:
            return []
        if windows is None:
            sql = f"""
                with rows as ({source})
                select {bucket} as bucket, {ROWS_OHLCV} from rows r group by bucket order by bucket
            """  # noqa: S608 - widths from INTERVAL_NS, paths from the lake's path builder
        else:
            sql = f"""
                with rows as ({source}),
                windows as (
                    select unnest(?::bigint[]) as start_ns, unnest(?::bigint[]) as end_ns,
                           unnest(?::bigint[]) as open_ns, unnest(?::bigint[]) as anchor_ns
                )
                select {bucket} as bucket, {ROWS_OHLCV}
                from rows r asof join windows w on r.ns >= w.start_ns
                where r.ns < w.end_ns
                group by bucket order by bucket
            """  # noqa: S608 - widths from INTERVAL_NS, paths from the lake's path builder
            # The windows do not overlap: the one starting last at or before a row is the only one
            # that can hold it (an as-of join: a sort and a merge, where a range join compared
            # every row with every window, most of the query for a year of daily bars).
            params = [
                *params,
                [window.start_ns for window in windows.windows],
                [window.end_ns for window in windows.windows],
                [window.open_ns for window in windows.windows],
                [window.anchor_ns for window in windows.windows],
            ]
        try:
            return duckdb_rows(lake_dir, sql, params)
        except duckdb.IOException:
            # Compaction swapped a partition (or a roll-up was rebuilt) between listing the files
            # and reading them: list again.
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    return []


_ATTEMPTS = 10


def _bar(row: Any) -> LakeBar:
    return LakeBar(from_epoch_ns(int(row[0])), row[1], row[2], row[3], row[4], int(row[5]), int(row[6]))


# Over rows (ns, open_ns, close_ns, open, high, low, close, volume, trades): the bars of one grain
# of time (`_grain`) from the one-minute bars and from the trades of the minutes those lack. One
# grain has at most a row of each, over different minutes, so the first and last instant of each
# row (`open_ns`, `close_ns`: a minute's start for the bars, a trade's time for the trades) order
# them without a tie.
ROWS_OHLCV = (
    "arg_min(r.open, r.open_ns), max(r.high), min(r.low), arg_max(r.close, r.close_ns), sum(r.volume), sum(r.trades)"
)
MINUTES_OHLCV = (
    "min(minute_ns) as open_ns, max(minute_ns) as close_ns, arg_min(open, minute_ns) as open, max(high) as high, "
    "min(low) as low, arg_max(close, minute_ns) as close, sum(volume) as volume, sum(trades) as trades"
)
# Roll-ups are read for ranges of more than this many days; a shorter one reads its day files
# (checking a roll-up means listing every day of its month).
_MONTHS_FROM_DAYS = 3


def _source(*, symbol: str, start: datetime, end: datetime, grain: int, lake: Path) -> tuple[str | None, list[Any]]:
    """The SQL of the rows of [start, end], aggregated to `grain`: minute bars for the whole
    minutes of days whose bars are current (their month's roll-up, else their own file), trades
    for the rest; None when the lake has nothing there."""
    start_ns, end_ns = ns_range(start, end)
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    whole_minutes = grain % MINUTE_NS == 0
    months: list[MonthBars] = []
    if whole_minutes and (last - first).days > _MONTHS_FROM_DAYS:
        around = days_bars(lake, symbol, month_start(first), month_end(last))
        days = [bars for bars in around if first <= bars.day <= last]
        months = [
            month for month in current_months(lake, symbol, around) if month.first <= last and month.last >= first
        ]
    else:
        days = days_bars(lake, symbol, first, last)
    in_months = {bars.day for month in months for bars in month.days}
    bar_days = [bars for bars in days if bars.day not in in_months and bars.current] if whole_minutes else []
    bar_files = [month.path for month in months] + [bars.path for bars in bar_days]
    # Minutes wholly inside [start_ns, end_ns]: the bars' part.
    low = -(-start_ns // MINUTE_NS) * MINUTE_NS
    high = (end_ns + 1) // MINUTE_NS * MINUTE_NS
    covered = {bars.day for bars in bar_days} | {bars.day for bars in days if bars.day in in_months}
    tick_files: list[str] = []
    for bars in days:
        # A day with bars still needs its trades for a partial minute at either end of the range.
        day = bars.day
        if day not in covered or (day == first and low != start_ns) or (day == last and high != end_ns + 1):
            tick_files.extend(bars.ticks)
    parts: list[str] = []
    params: list[Any] = []
    if bar_files:
        parts.append(
            f"select minute_ns // {grain} * {grain} as ns, {MINUTES_OHLCV} "  # noqa: S608 - paths quoted
            f"from read_parquet({parquet_list(bar_files)}, hive_partitioning = false) "
            "where minute_ns >= ? and minute_ns < ? group by 1"
        )
        params += [low, high]
    if tick_files:
        covered_list = sorted(covered)
        parts.append(
            f"select t // {grain} * {grain} as ns, min(t) as open_ns, max(t) as close_ns, {TRADES_OHLCV} "  # noqa: S608
            f"from (select epoch_ns(ts_event) as t, price, size, date from read_parquet({parquet_list(tick_files)}, "
            "hive_partitioning = true)) "
            "where t between ? and ? and not (date = any(?::date[]) and t >= ? and t < ?) group by 1"
        )
        params += [start_ns, end_ns, covered_list, low, high]
    if not parts:
        return None, []
    return " union all ".join(parts), params
