"""Hot-store blocks -> Arrow tables of the lake (`tick_data`, `quote_data`, `depth_data`).

Every row keeps `stream_id` (`<entry id>:<index>`), its position in the hot stream, so a row is
traceable to where it came from and duplicates are detectable. `date` and `symbol` are not
columns of the files: they come from the hive partition path.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from apps.marketdata.blocks import decode_depth, decode_quotes, decode_trades

TIMESTAMP = pa.timestamp("ns", tz="UTC")
SCHEMAS = {
    "tick_data": pa.schema(
        [
            ("ts_event", TIMESTAMP),
            ("ts_recv", TIMESTAMP),
            ("price", pa.float64()),
            ("size", pa.int64()),
            ("side", pa.int8()),
            ("feed", pa.string()),
            ("seq", pa.int64()),
            ("stream_id", pa.string()),
        ]
    ),
    "quote_data": pa.schema(
        [
            ("ts_event", TIMESTAMP),
            ("ts_recv", TIMESTAMP),
            ("bid_price", pa.float64()),
            ("bid_size", pa.int64()),
            ("ask_price", pa.float64()),
            ("ask_size", pa.int64()),
            ("feed", pa.string()),
            ("stream_id", pa.string()),
        ]
    ),
    "depth_data": pa.schema(
        [
            ("ts_event", TIMESTAMP),
            ("op", pa.int8()),
            ("side", pa.int8()),
            ("price", pa.float64()),
            ("size", pa.int64()),
            ("feed", pa.string()),
            ("stream_id", pa.string()),
        ]
    ),
}
# Which lake table each hot stream kind goes to.
TABLE_OF_KIND = {"trades": "tick_data", "quotes": "quote_data", "depth": "depth_data"}


def _day(ts_ns: int) -> date:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).date()


def _rows(kind: str, symbol: str, entry_id: str, data: bytes) -> list[dict[str, Any]]:
    if kind == "trades":
        return [
            {"ts_event": t.ts_event, "ts_recv": t.ts_recv, "price": t.price, "size": t.size, "side": int(t.side),
             "feed": t.feed, "seq": t.seq, "stream_id": f"{entry_id}:{i}"}
            for i, t in enumerate(decode_trades(symbol, data))
        ]  # fmt: skip
    if kind == "quotes":
        return [
            {"ts_event": q.ts_event, "ts_recv": q.ts_recv, "bid_price": q.bid_price, "bid_size": q.bid_size,
             "ask_price": q.ask_price, "ask_size": q.ask_size, "feed": q.feed, "stream_id": f"{entry_id}:{i}"}
            for i, q in enumerate(decode_quotes(symbol, data))
        ]  # fmt: skip
    return [
        {"ts_event": r.ts_event, "op": int(r.op), "side": int(r.side), "price": r.price, "size": r.size,
         "feed": r.feed, "stream_id": f"{entry_id}:{i}"}
        for i, r in enumerate(decode_depth(data))
    ]  # fmt: skip


def tables_by_day(kind: str, symbol: str, entries: list[tuple[str, bytes]]) -> dict[date, pa.Table]:
    """The rows of some stream entries, as one Arrow table per UTC day of their exchange time."""
    table = TABLE_OF_KIND[kind]
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for entry_id, data in entries:
        for row in _rows(kind, symbol, entry_id, data):
            by_day[_day(row["ts_event"])].append(row)
    return {day: pa.Table.from_pylist(rows, schema=SCHEMAS[table]) for day, rows in by_day.items()}
