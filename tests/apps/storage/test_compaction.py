"""Compaction merges a closed partition's small files while queries keep running: no query
sees a row twice or misses one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.core.redis import get_redis
from apps.marketdata.events import Side
from apps.storage.compaction import lake_compact, partition_compact
from apps.storage.flush import streams_flush
from apps.storage.trade_queries import lake_trades
from tests.factories import trade, write

DAY = datetime(2026, 11, 20, tzinfo=UTC)  # a Friday


def fill(lake: Path, *, files: int, per_file: int, day: datetime = DAY) -> int:
    seq = 0
    for _ in range(files):
        batch = []
        for _ in range(per_file):
            at = seq / 1000  # a millisecond apart from 15:00
            batch.append(trade(at, 6000.0 + seq % 8 * 0.25, seq=seq, side=Side.BUY, base=day + timedelta(hours=15)))
            seq += 1
        write([batch])
        streams_flush(client=get_redis(), lake=lake)  # one file per flush
    return seq


def partition(lake: Path, day: datetime = DAY) -> Path:
    return lake / "tick_data" / f"date={day.date()}" / "symbol=ESZ26"


def test_compaction_merges_small_files_and_keeps_every_row(tmp_path: Path) -> None:
    rows = fill(tmp_path, files=12, per_file=50)
    before = sorted(
        item.id for item in lake_trades(symbol="ESZ26", start=DAY, end=DAY + timedelta(days=1), lake=tmp_path)
    )
    result = partition_compact(lake=tmp_path, partition=partition(tmp_path))
    assert (result.files_before, result.files_after, result.rows) == (12, 1, rows)
    assert len(list(partition(tmp_path).glob("*.parquet"))) == 1
    after = sorted(
        item.id for item in lake_trades(symbol="ESZ26", start=DAY, end=DAY + timedelta(days=1), lake=tmp_path)
    )
    assert after == before
    assert not list((tmp_path / ".staging").glob("*")), "staging is cleaned up"


@pytest.mark.calendar
def test_only_closed_partitions_are_compacted(tmp_path: Path) -> None:
    fill(tmp_path, files=3, per_file=5, day=DAY)
    today = DAY + timedelta(days=4)  # Tuesday 2026-11-24 (UTC): its partition still grows
    fill(tmp_path, files=3, per_file=5, day=today)
    results = lake_compact(lake=tmp_path, today=today.date())
    assert [result.partition for result in results if not result.skipped] == [
        f"tick_data/date={DAY.date()}/symbol=ESZ26"
    ]
    assert len(list(partition(tmp_path, today).glob("*.parquet"))) >= 2


def test_queries_during_compaction_never_see_rows_twice_or_miss_rows(tmp_path: Path) -> None:
    days = [DAY - timedelta(days=offset) for offset in range(4)]
    expected = {day: fill(tmp_path, files=15, per_file=40, day=day) for day in days}
    seen: dict[datetime, list[tuple[int, int]]] = {day: [] for day in days}
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                for day in days:
                    ids = [
                        item.id
                        for item in lake_trades(
                            symbol="ESZ26",
                            start=day,
                            end=day + timedelta(days=1) - timedelta(milliseconds=1),
                            lake=tmp_path,
                        )
                    ]
                    seen[day].append((len(ids), len(set(ids))))
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for day in days:
        partition_compact(lake=tmp_path, partition=partition(tmp_path, day))
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    for day in days:
        assert seen[day], "the readers ran"
        assert set(seen[day]) == {(expected[day], expected[day])}, f"{day.date()}: {sorted(set(seen[day]))}"
        assert len(list(partition(tmp_path, day).glob("*.parquet"))) == 1
