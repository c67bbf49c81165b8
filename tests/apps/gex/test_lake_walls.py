"""Call and put walls in the lake: new files carry them as columns, and a partition that also holds
a file written before the columns existed is still read, with the walls of every row."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from apps.core.redis import get_redis
from apps.gex.lake_tables import SCHEMA, snapshot_rows
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, snapshot_encode
from apps.storage.connection import fetch
from apps.storage.flush import streams_flush
from tests.factories import T0


def walled(seconds: int, *, call: float | None, put: float | None) -> GEXSnapshot:
    return GEXSnapshot(
        ticker="ES_SPX",
        package="local",
        category="gex_zero",
        timestamp=int(T0.timestamp()) + seconds,
        spot=6000.0,
        zero_gamma=5990.0,
        call_wall=call,
        put_wall=put,
        source="simulated",
    )


def test_walls_are_columns_of_new_files_and_read_from_old_ones_too(tmp_path: Path) -> None:
    assert snapshot_record(snapshot=walled(0, call=6050.0, put=5940.0)) is not None
    streams_flush(client=get_redis(), lake=tmp_path)
    partition = tmp_path / "gex_snapshots" / "date=2026-11-24" / "symbol=ES_SPX"
    (new_file,) = partition.glob("*.parquet")
    assert pq.read_table(new_file).column("call_wall").to_pylist() == [6050.0]

    # A file as the flush wrote it before the walls were columns (its snapshot JSON has them).
    old = walled(-60, call=6025.0, put=5975.0)
    rows = snapshot_rows("ES_SPX", [("1795000000000-0", snapshot_encode(old))]).drop_columns(["call_wall", "put_wall"])
    assert "call_wall" not in rows.schema.names
    # Named to sort first, so DuckDB may well take the table's schema from it.
    pq.write_table(rows, partition / "0000000000000-0_0000000000000-0.parquet")

    got = fetch(
        tmp_path,
        "select ts_event, spot, call_wall, put_wall from gex_snapshots where symbol = ? order by ts_event",
        ["ES_SPX"],
    )
    assert [(row[2], row[3]) for row in got] == [(6025.0, 5975.0), (6050.0, 5940.0)]
    assert {field.name for field in SCHEMA} >= {"call_wall", "put_wall"}
    assert pa.types.is_float64(SCHEMA.field("put_wall").type)
