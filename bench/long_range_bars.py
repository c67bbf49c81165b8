"""Long-range bars (issue 19, goal 3): charts over weeks and a year, from the one-minute bars the
lake keeps beside its trades and their monthly roll-ups (apps/storage/minute_bars.py), against
the same query over the raw trades in the same run.

1. 1-minute bars of one symbol over 20 trading days of 10M trades each (goal: <= 1 s).
2. 1-day ETH bars over a year of trading days (goal: <= 0.2 s); trades per day configurable,
   since the reference has to scan them all.

Both answers are compared for equality (the REST answer must not depend on which path served it).
Files are generated with DuckDB straight into `tick_data/date=D/symbol=S/` in a temporary lake,
with the columns bars read (`ts_event`, `price`, `size`) and the two the lake's `tick_data` view
names (`seq`, and `stream_id` as one repeated value): Parquet is columnar, so the other tick
columns would only cost the bench's run time (200M distinct `stream_id` strings) and neither
query reads them. The reference runs fewer rounds than ours (it is the slow side).

    .venv/bin/python -m bench.long_range_bars [--days 20] [--day-trades 10000000] [--year-day-trades 200000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import duckdb  # noqa: E402

from apps.core.sessions import SessionKind, trading_sessions  # noqa: E402
from apps.storage.lake_bars import LakeBar, lake_bars, lake_bars_cache_clear  # noqa: E402
from apps.storage.minute_bars import minute_bars_rebuild  # noqa: E402

SYMBOL = "ESZ26"


def trading_days(last: date, count: int) -> list[date]:
    """The last `count` CME trade dates up to `last` (weekends and holidays skipped)."""
    sessions = trading_sessions(
        kind=SessionKind.ETH,
        start=datetime.combine(last - timedelta(days=count * 2 + 10), datetime.min.time(), tzinfo=UTC),
        end=datetime.combine(last, datetime.min.time(), tzinfo=UTC),
    )
    return [session.trade_date for session in sessions][-count:]


def generate(lake: Path, days: list[date], trades: int) -> None:
    """`trades` trades spread over each day's 23 Globex hours, a random walk of ticks."""
    connection = duckdb.connect()
    for number, day in enumerate(days):
        directory = lake / "tick_data" / f"date={day.isoformat()}" / f"symbol={SYMBOL}"
        directory.mkdir(parents=True, exist_ok=True)
        start_ns = int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp()) * 1_000_000_000
        step = 82_800_000_000_000 // trades
        connection.execute(
            f"""
            copy (
                select make_timestamp_ns({start_ns} + i * {step}) at time zone 'UTC' as ts_event,
                       (6000 + ((i * 7919 + {number}) % 4000) * 0.25)::double as price,
                       (1 + i % 9)::bigint as size, i::bigint as seq, 'bench' as stream_id
                from range({trades}) t(i)
            ) to '{directory / "bench-0.parquet"}' (format parquet, compression zstd)
            """
        )


def timed(query: Callable[[], list[LakeBar]], rounds: int) -> tuple[float, list[LakeBar]]:
    """Median seconds of `rounds` runs, each with the per-process bars cache cleared."""
    seconds, answer = [], []
    for _ in range(rounds):
        lake_bars_cache_clear()
        started = time.perf_counter()
        answer = query()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), answer


def measure(lake: Path, days: list[date], interval: str, session: SessionKind | None, rounds: int) -> dict[str, object]:
    start = datetime.combine(days[0] - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), tzinfo=UTC)

    def query() -> list[LakeBar]:
        return lake_bars(symbol=SYMBOL, start=start, end=end, interval=interval, session=session, lake=lake)

    reference, from_trades = timed(query, min(rounds, 2))
    started = time.perf_counter()
    minute_bars_rebuild(lake=lake)
    build = time.perf_counter() - started
    ours, from_minutes = timed(query, rounds)
    assert from_minutes == from_trades, "the bars table and the trades gave different bars"
    return {"reference": reference, "ours": ours, "build": build, "bars": len(from_trades)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--day-trades", type=int, default=10_000_000)
    parser.add_argument("--year-days", type=int, default=252)
    parser.add_argument("--year-day-trades", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    last = date(2026, 11, 30)
    load_at_start = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="bench-long-range-"))
    try:
        month = trading_days(last, args.days)
        started = time.perf_counter()
        generate(root / "month", month, args.day_trades)
        generated = time.perf_counter() - started
        weeks = measure(root / "month", month, "1m", None, args.rounds)
        year = trading_days(last, args.year_days)
        generate(root / "year", year, args.year_day_trades)
        daily = measure(root / "year", year, "1d", SessionKind.ETH, args.rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}; load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"(generated {args.days} days x {args.day_trades:,} trades in {generated:.0f} s; medians of {args.rounds})")
    print("| measure | ours (bars table) | reference: same query over raw trades | ratio | goal | bars |")
    print("|---|---|---|---|---|---|")
    print(
        f"| 1m bars, {args.days} days x {args.day_trades:,} trades | {weeks['ours']:.3f} s | {weeks['reference']:.3f} s "
        f"| {weeks['reference'] / weeks['ours']:.0f}x faster | <= 1 s | {weeks['bars']:,} |"
    )
    print(
        f"| 1d ETH bars, {args.year_days} days x {args.year_day_trades:,} trades | {daily['ours']:.3f} s "
        f"| {daily['reference']:.3f} s | {daily['reference'] / daily['ours']:.0f}x faster | <= 0.2 s | {daily['bars']:,} |"
    )
    print(
        f"(building the one-minute bars and the months' roll-ups: {weeks['build']:.1f} s for the {args.days} days, "
        f"{daily['build']:.1f} s for the {args.year_days}; compaction does it once per closed day)"
    )


if __name__ == "__main__":
    main()
