"""Hot-store entries -> Arrow tables of the lake, one per UTC day, for any registered table
(apps/storage/registry.py).

Every row keeps `stream_id` (`<entry id>:<index>`, or the entry id when an entry is one row),
its position in the hot stream, so a row is traceable to where it came from and duplicates are
detectable. `date` and `symbol` are not columns of the files: they come from the hive partition
path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from apps.storage.registry import LakeTable

TIMESTAMP = pa.timestamp("ns", tz="UTC")
NS_PER_DAY = 86_400 * 1_000_000_000


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
