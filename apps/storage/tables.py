"""Hot-store entries -> Arrow tables of the lake, one per UTC day, for any registered table
(apps/storage/registry.py).

Every row keeps `stream_id` (`<entry id>:<index>`, or the entry id when an entry is one row),
its position in the hot stream, so a row is traceable to where it came from and duplicates are
detectable. `date` and `symbol` are not columns of the files: they come from the hive partition
path.

A bulk import's trades (Sierra Chart `.scid` records) store their identity compactly: `stream_id`
holds the source's prefix ending in ':' (`sierra:<file id>:`, one dictionary value per file) and
`seq` the record index; the row's `stream_id` is the two joined (`sierra:<file id>:<index>`),
derived wherever rows are read (`STREAM_ID_SQL` in DuckDB views and queries over files,
`row_stream_ids` in Arrow), so every reader sees the same ids as when each row stored its own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from apps.storage.registry import LakeTable

TIMESTAMP = pa.timestamp("ns", tz="UTC")
NS_PER_DAY = 86_400 * 1_000_000_000
# A row's stream_id in a table with `seq`: a stored prefix (ending in ':') joined to `seq`.
STREAM_ID_SQL = "if(suffix(stream_id, ':'), concat(stream_id, seq), stream_id)"


def timestamps(ns: np.ndarray) -> pa.Array:
    """Nanoseconds since the epoch as the lake's UTC timestamps."""
    return pa.array(ns, type=pa.int64()).cast(TIMESTAMP)


def tables_by_day(table: LakeTable, symbol: str, entries: list[tuple[str, bytes]]) -> dict[date, pa.Table]:
    """The rows of some stream entries, as one Arrow table per UTC day of their exchange time."""
    if not entries:
        return {}
    rows = table.rows(symbol, entries)
    days = pc.divide(pc.cast(rows["ts_event"], pa.int64()), NS_PER_DAY).to_numpy()
    result = {}
    unique = np.unique(days)
    for day in unique:
        moment = datetime.fromtimestamp(int(day) * 86_400, tz=UTC).date()
        # Most flushes hold one day: no copy of every column then.
        result[moment] = rows if len(unique) == 1 else rows.filter(pa.array(days == day))
    return result


def row_stream_ids(rows: pa.Table) -> pa.ChunkedArray:
    """The rows' stream ids, each stored prefix (ending in ':') joined to the row's `seq`."""
    ids = rows["stream_id"]
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(pa.string())
    if "seq" not in rows.column_names or not len(ids):
        return ids
    partial = pc.ends_with(ids, ":")
    if not pc.any(partial).as_py():
        return ids
    joined = pc.binary_join_element_wise(ids, rows["seq"].cast(pa.string()), "")
    return pc.if_else(partial, joined, ids)


def view_with_stream_ids(source: str) -> str:
    """A select of every column of `source` (rows of a table with `seq`), each row's stream_id whole."""
    return f"select * replace ({STREAM_ID_SQL} as stream_id) from {source}"  # noqa: S608 - our constant
