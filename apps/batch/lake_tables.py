"""The lake table batch imports add: `bar_data`, the bars of Sierra Chart bar files (one-minute
and other intraday bars), which are not trades and never go to `tick_data`.

Its hot stream pattern exists for the registry's sake: only imports write this table, and a
bar stream, if a feed ever wrote one, holds JSON rows of the same columns.
"""

from __future__ import annotations

import orjson
import pyarrow as pa

from apps.storage.registry import LakeTable
from apps.storage.tables import TIMESTAMP

BAR_SCHEMA = pa.schema(
    [
        ("ts_event", TIMESTAMP),  # the bar's start
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
        ("num_trades", pa.int64()),
        ("bid_volume", pa.int64()),
        ("ask_volume", pa.int64()),
        ("feed", pa.string()),
        ("stream_id", pa.string()),
    ]
)


def bar_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    rows = []
    for entry_id, data in entries:
        for index, row in enumerate(orjson.loads(data)):
            rows.append({**row, "stream_id": f"{entry_id}:{index}"})
    return pa.Table.from_pylist(rows, schema=BAR_SCHEMA)


BAR_DATA = LakeTable(
    name="bar_data", stream="md:bars_in:{SYM}", schema=BAR_SCHEMA, rows=bar_rows, retention="bars", label="Bars"
)
