"""Lake benchmarks.

1. Flush throughput: trades written to a Redis stream by the hot store writer, then flushed to
   Parquet by the real flush service (decode blocks, Arrow, zstd Parquet, fsync, rename, XACK);
   reference: pyarrow.parquet.write_table of the same rows, already in an Arrow table, same run.
2. Query latency: 1-minute bars over one day of 10M trades with the project's DuckDB query
   (`apps.storage.lake_bars.lake_bars`), against a full scan of the same files (count and sum) as
   the reference.

    .venv/bin/python -m bench.lake --redis redis://127.0.0.1:6379/14 [--flush-trades 500000] [--day-trades 10000000]

Uses (and flushes) that Redis database; files go to a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import redis  # noqa: E402
import redis.asyncio  # noqa: E402

from apps.core import keys  # noqa: E402
from apps.marketdata.events import Side, Trade  # noqa: E402
from apps.marketdata.services.streams import HotStoreWriter  # noqa: E402
from apps.storage.flush import stream_flush  # noqa: E402
from apps.storage.lake_bars import lake_bars, lake_bars_cache_clear  # noqa: E402
from apps.storage.market_tables import TICK_SCHEMA  # noqa: E402
from streamers.config import RunnerConfig  # noqa: E402

DAY = datetime(2026, 11, 24, tzinfo=UTC)


async def fill_stream(url: str, count: int) -> None:
    client = redis.asyncio.Redis.from_url(url)
    writer = HotStoreWriter(client, feed="simulator")
    base = int(DAY.timestamp() * 1e9) + 14 * 3600 * 10**9
    batch = []
    for index in range(count):
        ts = base + index * 1_000_000
        batch.append(
            Trade(
                "ESZ26",
                ts,
                ts + 500_000,
                6000.0 + (index % 40) * 0.25,
                1 + index % 9,
                Side(1 + index % 2),
                "simulator",
                index,
            )
        )
        if len(batch) == RunnerConfig.batch_size:  # the runner's batches at high rates
            await writer.write(batch)
            batch = []
    if batch:
        await writer.write(batch)
    await client.aclose()


def bench_flush(url: str, count: int, lake: Path, rounds: int = 3) -> tuple[float, float]:
    """Median of `rounds` flushes (a fresh stream each) and of as many reference writes: single
    runs of either moved by a factor of two on this shared machine."""
    client = redis.Redis.from_url(url)
    ours, references = [], []
    for round_number in range(rounds):
        client.flushdb()
        shutil.rmtree(lake, ignore_errors=True)
        asyncio.run(fill_stream(url, count))
        started = time.perf_counter()
        result = stream_flush(client=client, key=keys.trades("ESZ26"), lake=lake)
        ours.append(result.rows / (time.perf_counter() - started))

        table = pq.read_table(lake / "tick_data")  # the same rows, as Arrow
        reference_path = lake.parent / f"reference-{round_number}.parquet"
        started = time.perf_counter()
        pq.write_table(table, reference_path, compression="zstd")
        references.append(table.num_rows / (time.perf_counter() - started))
    return statistics.median(ours), statistics.median(references)


def write_day(lake: Path, rows: int, files: int = 100) -> None:
    directory = lake / "tick_data" / f"date={DAY.date()}" / "symbol=ESZ26"
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    start_ns = int(DAY.timestamp() * 1e9)
    per_file = rows // files
    for number in range(files):
        offsets = np.sort(rng.integers(0, 86_400 * 10**9, per_file))
        ts = pa.array(start_ns + offsets, type=pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
        prices = 6000 + np.cumsum(rng.integers(-1, 2, per_file)) * 0.25
        table = pa.table(
            {
                "ts_event": ts,
                "ts_recv": ts,
                "price": pa.array(prices),
                "size": pa.array(rng.integers(1, 20, per_file)),
                "side": pa.array(rng.integers(1, 3, per_file), type=pa.int8()),
                "feed": pa.array(["simulator"] * per_file),
                "seq": pa.array(np.arange(per_file) + number * per_file),
                "stream_id": pa.array([f"{number}-0:{i}" for i in range(per_file)]),
            },
            schema=TICK_SCHEMA,
        )
        pq.write_table(table, directory / f"{number:04d}.parquet", compression="zstd")


def bench_query(lake: Path, rows: int) -> tuple[float, float, int]:
    write_day(lake, rows)
    end = DAY + timedelta(days=1) - timedelta(microseconds=1)
    lake_bars(symbol="ESZ26", start=DAY, end=end, interval="1m", lake=lake)  # open the views
    timings = []
    for _ in range(3):
        lake_bars_cache_clear()  # the query itself, not the per-process cache of closed days
        started = time.perf_counter()
        bars = lake_bars(symbol="ESZ26", start=DAY, end=end, interval="1m", lake=lake)
        timings.append(time.perf_counter() - started)
    reference = []
    for _ in range(3):
        started = time.perf_counter()
        duckdb.sql(f"select count(*), sum(size) from read_parquet('{lake}/tick_data/**/*.parquet')").fetchall()
        reference.append(time.perf_counter() - started)
    return min(timings), min(reference), len(bars)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--flush-trades", type=int, default=500_000)
    parser.add_argument("--day-trades", type=int, default=10_000_000)
    options = parser.parse_args()
    redis.Redis.from_url(options.redis).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    try:
        ours, reference = bench_flush(options.redis, options.flush_trades, workdir / "flush" / "lake")
        query, scan, bars = bench_query(workdir / "query" / "lake", options.day_trades)
    finally:
        redis.Redis.from_url(options.redis).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, duckdb {duckdb.__version__}"
    )
    print()
    print("| measure | ours | reference (same run) | ratio | goal |")
    print("|---|---|---|---|---|")
    print(
        f"| flush, {options.flush_trades:,} trades Redis -> Parquet, rows/s | {ours:,.0f} | pyarrow write_table of the same rows: {reference:,.0f} | {ours / reference:.2f} | >= 0.3 |"
    )
    print(
        f"| 1-minute bars over one day of {options.day_trades:,} trades ({bars} bars), s | {query:.3f} | DuckDB full scan count+sum: {scan:.3f} | {query / scan:.1f}x | <= 0.5 s |"
    )


if __name__ == "__main__":
    main()
