"""The lake tables batch jobs add: `bar_data`, the bars of Sierra Chart bar files (one-minute
and other intraday bars), which are not trades and never go to `tick_data`; and
`enriched_ticks`, trades with the GEX levels in force at their time (`enrich_tick_gex`).

Their hot stream patterns exist for the registry's sake: only jobs write these tables, and such
a stream, if a feed ever wrote one, would hold JSON rows of the same columns.
"""

from __future__ import annotations

from collections.abc import Callable

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


ENRICHED_SCHEMA = pa.schema(
    [
        ("ts_event", TIMESTAMP),
        ("price", pa.float64()),
        ("size", pa.int64()),
        ("side", pa.int8()),
        ("feed", pa.string()),
        ("seq", pa.int64()),
        ("stream_id", pa.string()),  # the trade's, in tick_data
        ("gex_ts", TIMESTAMP),  # the snapshot in force (null: none yet)
        ("spot", pa.float64()),
        ("zero_gamma", pa.float64()),
        ("major_pos_vol", pa.float64()),
        ("major_neg_vol", pa.float64()),
        ("major_pos_oi", pa.float64()),
        ("major_neg_oi", pa.float64()),
        ("net_gex_vol", pa.float64()),
        ("net_gex_oi", pa.float64()),
        ("dist_zero_gamma", pa.float64()),
        ("dist_major_pos_vol", pa.float64()),
        ("dist_major_neg_vol", pa.float64()),
        ("dist_major_pos_oi", pa.float64()),
        ("dist_major_neg_oi", pa.float64()),
        ("gex_ticker", pa.string()),
    ]
)


def _json_rows(schema: pa.Schema) -> Callable[[str, list[tuple[str, bytes]]], pa.Table]:
    def rows_of(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
        rows = [
            {**row, "stream_id": f"{entry_id}:{index}"}
            for entry_id, data in entries
            for index, row in enumerate(orjson.loads(data))
        ]
        return pa.Table.from_pylist(rows, schema=schema)

    return rows_of


BAR_DATA = LakeTable(
    name="bar_data",
    stream="md:bars_in:{SYM}",
    schema=BAR_SCHEMA,
    rows=_json_rows(BAR_SCHEMA),
    retention="bars",
    label="Bars",
)
ENRICHED_TICKS = LakeTable(
    name="enriched_ticks",
    stream="md:enriched_in:{SYM}",
    schema=ENRICHED_SCHEMA,
    rows=_json_rows(ENRICHED_SCHEMA),
    retention="trades",
    label="Trades with GEX levels",
)
