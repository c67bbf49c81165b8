"""The flush into the Parquet lake, against a real Redis, a real lake directory and real worker
processes killed mid-flush."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.blocks import decode_trades
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Level, Quote, Side, Trade
from apps.storage.flush import stream_flush, streams_flush
from apps.storage.selectors import flush_status_list
from tests.conftest import ProcessGroup, celery_command
from tests.factories import write

ROOT = Path(__file__).resolve().parents[3]
MIDNIGHT = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
MIDNIGHT_NS = int(MIDNIGHT.timestamp()) * 1_000_000_000


def lake_rows(lake: Path, table: str = "tick_data") -> tuple[int, int]:
    pattern = str(lake / table / "**" / "*.parquet")
    count, distinct = duckdb.sql(
        f"select count(*), count(distinct stream_id) from read_parquet('{pattern}', hive_partitioning = true)"
    ).fetchone()  # type: ignore[misc]
    return int(count), int(distinct)


def redis_trade_ids(symbol: str) -> set[str]:
    ids = set()
    for entry_id, fields in get_redis().xrange(keys.trades(symbol)):
        for index, _ in enumerate(decode_trades(symbol, fields[b"d"])):
            ids.add(f"{entry_id.decode()}:{index}")
    return ids


def lake_trade_ids(lake: Path) -> list[str]:
    pattern = str(lake / "tick_data" / "**" / "*.parquet")
    return [row[0] for row in duckdb.sql(f"select stream_id from read_parquet('{pattern}')").fetchall()]


def test_flush_partitions_by_date_and_symbol_and_runs_once(tmp_path: Path) -> None:
    before, after = MIDNIGHT_NS - 100_000_000, MIDNIGHT_NS + 100_000_000
    write(
        [
            [Trade("ESZ26", before, before, 6000.0, 1, Side.BUY, "test", 1), Trade("ESZ26", after, after, 6000.25, 2, Side.SELL, "test", 2)],
            [Trade("NQZ26", after, after, 21000.0, 3, Side.BUY, "test", 1), Quote("ESZ26", after, after, 6000.0, 5, 6000.25, 6, "test")],
            [DepthSnapshot("ESZ26", after, after, (Level(6000.0, 5),), (Level(6000.25, 6),), "test"),
             DepthUpdate("ESZ26", after, after, Side.BUY, 6000.0, 0, "test")],
        ]
    )  # fmt: skip
    results = streams_flush(client=get_redis(), lake=tmp_path)
    assert (
        sum(result.rows for result in results) == 3 + 1 + 4
    )  # trades, quote, depth operations (clear + 2 levels + update)
    files = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*.parquet"))
    assert [f.rsplit("/", 1)[0] for f in files] == [
        "depth_data/date=2026-11-25/symbol=ESZ26",
        "quote_data/date=2026-11-25/symbol=ESZ26",
        "tick_data/date=2026-11-24/symbol=ESZ26",
        "tick_data/date=2026-11-25/symbol=ESZ26",
        "tick_data/date=2026-11-25/symbol=NQZ26",
    ]
    rows = duckdb.sql(
        f"select symbol, cast(date as varchar), price, size from read_parquet('{tmp_path}/tick_data/**/*.parquet', hive_partitioning = true) order by ts_event, symbol"
    ).fetchall()
    assert rows == [
        ("ESZ26", "2026-11-24", 6000.0, 1),
        ("ESZ26", "2026-11-25", 6000.25, 2),
        ("NQZ26", "2026-11-25", 21000.0, 3),
    ]

    assert all(result.rows == 0 for result in streams_flush(client=get_redis(), lake=tmp_path)), "flushed twice"
    status = {item.key: item for item in flush_status_list()}
    assert status[keys.trades("ESZ26")].pending == 0
    assert status[keys.trades("ESZ26")].lag_entries == 0
    assert status[keys.trades("ESZ26")].last_id is not None


def test_a_second_flush_of_a_locked_stream_waits_its_turn(tmp_path: Path) -> None:
    write([[Trade("ESZ26", MIDNIGHT_NS, MIDNIGHT_NS, 6000.0, 1, Side.BUY, "test", 1)]])
    lock = get_redis().lock(keys.lake_lock(keys.trades("ESZ26")), timeout=30)
    assert lock.acquire(blocking=False)
    result = stream_flush(client=get_redis(), key=keys.trades("ESZ26"), lake=tmp_path)
    assert result.skipped == "another flush of this stream is running"
    assert not list(tmp_path.rglob("*.parquet"))
    lock.release()
    assert stream_flush(client=get_redis(), key=keys.trades("ESZ26"), lake=tmp_path).rows == 1


@pytest.mark.slow
def test_killing_the_flushing_worker_between_steps_loses_and_repeats_nothing(
    processes: ProcessGroup, process_env: dict[str, str], tmp_path: Path
) -> None:
    from apps.storage.tasks import flush_streams

    lake = tmp_path / "lake"
    env = {**process_env, "LAKE_DIR": str(lake)}
    streamer = processes.start(
        "streamer", [sys.executable, "manage.py", "run_streamer", "simulator", "--symbols", "ESZ26", "--rate", "200", "--always-open", "--metrics-port", "0"], env
    )  # fmt: skip

    def start_worker(name: str, failpoint: str = "") -> subprocess.Popen[bytes]:
        return processes.start(
            name,
            celery_command("worker", "-Q", "flush", "-c", "1", "-P", "solo", "--hostname", f"{name}@%h"),
            {**env, "FLUSH_FAILPOINT": failpoint},
        )

    for step in ("after_write", "after_rename", "after_ack"):
        time.sleep(1.5)  # the streamer keeps writing between the crashes
        worker = start_worker(f"crash-{step}", step)
        flush_streams.apply_async(queue="flush")
        assert worker.wait(timeout=60) == -signal.SIGKILL, processes.log(f"crash-{step}")
        assert "flush.failpoint" in processes.log(f"crash-{step}")
        if step == "after_write":
            assert list(lake.rglob(".*.tmp-*")), "the crash left a temporary file"
        # Re-run: a healthy worker flushes again, pending entries first, into the same names.
        healthy = start_worker(f"rerun-{step}")
        flush_streams.apply_async(queue="flush").get(timeout=60)
        healthy.terminate()
        healthy.wait(timeout=30)

    streamer.send_signal(signal.SIGTERM)
    assert streamer.wait(timeout=30) == 0
    final = start_worker("final")
    flush_streams.apply_async(queue="flush").get(timeout=60)
    final.terminate()

    in_redis = redis_trade_ids("ESZ26")
    in_lake = lake_trade_ids(lake)
    assert len(in_redis) > 500
    assert len(in_lake) == len(set(in_lake)), "a row reached the lake twice"
    assert set(in_lake) == in_redis, "the lake and the stream disagree"
    assert not list(lake.rglob(".*.tmp-*")), "temporary files are cleaned up"


def test_each_row_keeps_its_feed_when_feeds_share_a_stream(tmp_path: Path) -> None:
    """Two brokers' streamers write the same symbol's stream; a block may even mix feeds. The
    lake keeps every row's own feed (a stream of one feed takes a faster path)."""
    at = MIDNIGHT_NS + 3_600_000_000_000
    write(
        [
            [Trade("ESZ26", at + i, at + i, 6000.0, 1, Side.BUY, "schwab", i) for i in range(3)],
            [Trade("ESZ26", at + 10 + i, at + 10 + i, 6000.0, 1, Side.SELL, feed, i) for i, feed in
             enumerate(["tastytrade", "schwab", "tastytrade"])],
            [Trade("NQZ26", at, at, 21000.0, 1, Side.BUY, "tastytrade", 1)],
        ]
    )  # fmt: skip
    streams_flush(client=get_redis(), lake=tmp_path)
    rows = duckdb.sql(
        f"select symbol, feed from read_parquet('{tmp_path}/tick_data/**/*.parquet', hive_partitioning = true) "
        "order by symbol, ts_event"
    ).fetchall()
    assert rows == [
        ("ESZ26", "schwab"),
        ("ESZ26", "schwab"),
        ("ESZ26", "schwab"),
        ("ESZ26", "tastytrade"),
        ("ESZ26", "schwab"),
        ("ESZ26", "tastytrade"),
        ("NQZ26", "tastytrade"),
    ]
