"""OHLCV bars of lake trades at any interval (DuckDB), with the bars of closed days remembered
per process."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.core.clock import utc_now
from apps.core.epoch import from_epoch_ns
from apps.core.sessions import SessionKind
from apps.storage.bar_windows import bar_grid
from apps.storage.connection import LakeQueryError, fetch, has_view, ns_range

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
    if not has_view("tick_data", lake):
        return []
    width = INTERVAL_NS[interval]
    # Integer nanoseconds throughout: 2-3x faster in DuckDB than time_bucket on timestamps.
    rows: list[Any] = fetch(
        lake,
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
        [symbol, start.astimezone(UTC).date(), end.astimezone(UTC).date(), *ns_range(start, end)],
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


def _lake_session_bars(
    *, symbol: str, start: datetime, end: datetime, interval: str, session: SessionKind, lake: Path | None
) -> list[LakeBar]:
    if not has_view("tick_data", lake):
        return []
    width = INTERVAL_NS[interval]
    grid = bar_grid(session=session, width_ns=width, start=start, end=end)
    if not grid.windows:
        return []
    windows = grid.windows
    # The same arithmetic as BarGrid.bucket (the hot store's side), in integer nanoseconds.
    bucket = (
        "w.open_ns" if grid.daily else f"greatest(w.anchor_ns + (t.ns - w.anchor_ns) // {width} * {width}, w.start_ns)"
    )
    rows: list[Any] = fetch(
        lake,
        f"""
        with trades as (
            select epoch_ns(ts_event) as ns, price, size from tick_data
            where symbol = ? and date between ?::date and ?::date
        ),
        windows as (
            select unnest(?::bigint[]) as start_ns, unnest(?::bigint[]) as end_ns,
                   unnest(?::bigint[]) as open_ns, unnest(?::bigint[]) as anchor_ns
        ),
        bucketed as (
            select {bucket} as bucket, t.ns, t.price, t.size
            from trades t join windows w on t.ns >= w.start_ns and t.ns < w.end_ns
            where t.ns between ? and ?
        )
        select bucket, arg_min(price, ns), max(price), min(price), arg_max(price, ns), sum(size), count(*)
        from bucketed group by bucket order by bucket
        """,  # noqa: S608 - the width comes from INTERVAL_NS
        [
            symbol,
            start.astimezone(UTC).date(),
            end.astimezone(UTC).date(),
            [window.start_ns for window in windows],
            [window.end_ns for window in windows],
            [window.open_ns for window in windows],
            [window.anchor_ns for window in windows],
            *ns_range(start, end),
        ],
    )
    return [
        LakeBar(from_epoch_ns(int(row[0])), row[1], row[2], row[3], row[4], int(row[5]), int(row[6])) for row in rows
    ]
