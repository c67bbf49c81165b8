"""The lake's DuckDB database is shared by the threads of a process (a cursor each): the web
process answers each request in a thread of its own, many at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.storage.trade_queries import lake_trades

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


@pytest.fixture
def lake(tmp_path: Path, settings: pytest.FixtureRequest) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"  # type: ignore[attr-defined]
    return tmp_path / "lake"


def import_ticks(tmp_path: Path, name: str, rows: list[str]) -> None:
    source = tmp_path / name
    source.write_text("ts,symbol,price,size,side\n" + "\n".join(rows) + "\n")
    call_command("import_ticks", str(source))


def prices(lake: Path) -> list[float]:
    return [item.trade.price for item in lake_trades(symbol="ESZ26", start=T0, end=T0 + timedelta(hours=1), lake=lake)]


def test_threads_reading_the_lake_at_once_each_get_every_trade(lake: Path, tmp_path: Path) -> None:
    import_ticks(
        tmp_path, "a.csv", [f"2026-11-24T14:30:{second:02d}Z,ESZ26,{6000 + second / 4},1,B" for second in range(40)]
    )
    expected = [6000 + second / 4 for second in range(40)]
    start = threading.Barrier(8)

    def read(_: int) -> list[float]:
        start.wait()  # all eight open their cursor and query together
        return prices(lake)

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(read, range(8))) == [expected] * 8


def test_a_thread_sees_files_written_after_another_thread_opened_the_lake(lake: Path, tmp_path: Path) -> None:
    import_ticks(tmp_path, "a.csv", ["2026-11-24T14:30:00Z,ESZ26,6000.25,1,B"])
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(prices, lake).result() == [6000.25]
    import_ticks(tmp_path, "b.csv", ["2026-11-24T14:30:05Z,ESZ26,6000.5,1,S"])
    with ThreadPoolExecutor(1) as pool:  # a new thread, as each web request is
        assert pool.submit(prices, lake).result() == [6000.25, 6000.5]
    assert prices(lake) == [6000.25, 6000.5]
