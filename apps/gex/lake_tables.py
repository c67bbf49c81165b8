"""The GEX lake table `gex_snapshots`, fed by the streams `gex:snapshots:{TICKER}`; registered with
storage in apps.py. One row per snapshot: its levels as columns, and the whole snapshot (strike
rows included) as recorded, so a read gives it back unchanged.

`call_wall` and `put_wall` were added after files were written without them. New files carry the
columns; the DuckDB view reads both from `data` (every file has it), so old and new partitions
answer the same columns without `union_by_name` (which would open every file for its schema),
whichever file DuckDB happens to take the schema from."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from apps.gex.snapshots import snapshot_decode
from apps.storage.registry import LakeTable
from apps.storage.tables import TIMESTAMP, timestamps

SCHEMA = pa.schema(
    [
        ("ts_event", TIMESTAMP),
        ("package", pa.string()),
        ("category", pa.string()),
        ("spot", pa.float64()),
        ("zero_gamma", pa.float64()),
        ("major_pos_vol", pa.float64()),
        ("major_pos_oi", pa.float64()),
        ("major_neg_vol", pa.float64()),
        ("major_neg_oi", pa.float64()),
        ("sum_gex_vol", pa.float64()),
        ("sum_gex_oi", pa.float64()),
        ("call_wall", pa.float64()),
        ("put_wall", pa.float64()),
        ("source", pa.string()),
        ("units", pa.string()),
        ("data", pa.string()),
        ("stream_id", pa.string()),
    ]
)
_SCALARS = ("spot", "zero_gamma", "major_pos_vol", "major_pos_oi", "major_neg_vol", "major_neg_oi",
            "sum_gex_vol", "sum_gex_oi", "call_wall", "put_wall")  # fmt: skip
_ADDED = ("call_wall", "put_wall")
# The columns every file has (hive partitions last), then those added later, read from `data`.
_COLUMNS = [
    *(name for name in SCHEMA.names if name not in _ADDED),
    "date",
    "symbol",
    *(f"try_cast(json_extract_string(data, '$.{name}') as double) as {name}" for name in _ADDED),
]
VIEW = f"select {', '.join(_COLUMNS)} from {{source}}"  # noqa: S608 - the schema's own names, no input


def snapshot_rows(ticker: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    """GEX snapshots (one per entry, a few per second at most): row by row is fast enough."""
    snapshots = [snapshot_decode(data) for _, data in entries]
    columns: dict[str, list[object]] = {
        "ts_event": list(timestamps(np.array([s.timestamp * 1_000_000_000 for s in snapshots], dtype=np.int64))),
        "package": [snapshot.package for snapshot in snapshots],
        "category": [snapshot.category for snapshot in snapshots],
        **{name: [getattr(snapshot, name) for snapshot in snapshots] for name in _SCALARS},
        "source": [snapshot.source for snapshot in snapshots],
        "units": [snapshot.units for snapshot in snapshots],
        "data": [data.decode() for _, data in entries],
        "stream_id": [entry_id for entry_id, _ in entries],
    }
    return pa.Table.from_pydict(columns, schema=SCHEMA)


GEX_SNAPSHOTS = LakeTable(
    name="gex_snapshots",
    stream="gex:snapshots:{SYM}",
    schema=SCHEMA,
    rows=snapshot_rows,
    retention="snapshots",
    label="GEX snapshots",
    view=VIEW,
)
