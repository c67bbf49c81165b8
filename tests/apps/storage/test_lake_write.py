"""LakeWrite, the public write path of importers and batch jobs: nothing is visible until the
whole write ends cleanly, an error leaves the lake as it was, and a dead writer's temporaries
are removed by the next writer of the same file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from apps.storage.lake import partition_file
from apps.storage.lake_write import LakeWrite
from apps.storage.market_tables import TICK_SCHEMA

DAY = date(2025, 12, 19)


def rows(count: int) -> pa.Table:
    at = datetime(2025, 12, 19, 14, 30, tzinfo=UTC)
    return pa.Table.from_pylist(
        [{"ts_event": at, "ts_recv": at, "price": 6000.25, "size": 1, "side": 1, "feed": "test", "seq": i,
          "stream_id": f"t:{i}"} for i in range(count)],
        schema=TICK_SCHEMA,
    )  # fmt: skip


def visible(lake: Path) -> list[str]:
    return sorted(str(path.relative_to(lake)) for path in lake.rglob("*.parquet"))


@pytest.mark.django_db
def test_nothing_is_visible_until_the_write_ends_and_an_error_leaves_nothing(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with LakeWrite(lake=lake) as write:
        write.append(table="tick_data", day=DAY, symbol="ESZ25", name="a.parquet", rows=rows(3))
        write.append(table="tick_data", day=date(2025, 12, 20), symbol="ESZ25", name="a.parquet", rows=rows(2))
        assert visible(lake) == []
    assert visible(lake) == [
        "tick_data/date=2025-12-19/symbol=ESZ25/a.parquet",
        "tick_data/date=2025-12-20/symbol=ESZ25/a.parquet",
    ]

    def bad_import() -> None:
        with LakeWrite(lake=lake) as write:
            write.append(table="tick_data", day=DAY, symbol="ESH26", name="b.parquet", rows=rows(3))
            raise RuntimeError("the source turned out bad")

    with pytest.raises(RuntimeError):
        bad_import()
    assert len(visible(lake)) == 2
    assert not list(lake.rglob(".*tmp-*"))


@pytest.mark.django_db
def test_a_dead_writers_temporaries_are_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    final = partition_file(lake=lake, table="tick_data", day=DAY, symbol="ESZ25", name="a.parquet")
    final.parent.mkdir(parents=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    dead = final.with_name(f".a.parquet.tmp-{int(gone.stdout)}")
    alive = final.with_name(f".a.parquet.tmp-{os.getppid()}")
    dead.write_bytes(b"half a file")
    alive.write_bytes(b"being written")

    with LakeWrite(lake=lake) as write:
        write.append(table="tick_data", day=DAY, symbol="ESZ25", name="a.parquet", rows=rows(1))

    assert not dead.exists()
    assert alive.exists()
