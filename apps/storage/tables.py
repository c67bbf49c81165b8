"""Hot-store entries -> Arrow tables of the lake (`tick_data`, `quote_data`, `depth_data` from
market-data blocks, `gex_snapshots` from GEX snapshots).

Every row keeps `stream_id` (`<entry id>:<index>`), its position in the hot stream, so a row is
traceable to where it came from and duplicates are detectable. `date` and `symbol` are not
columns of the files: they come from the hive partition path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from apps.core.codec import text as _text
from apps.gex.snapshots import snapshot_decode
from apps.marketdata.blocks import BlockKind, decode_columns
from apps.marketdata.events import FEED_NAMES

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
SCHEMAS["gex_snapshots"] = pa.schema(
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
        ("source", pa.string()),
        ("units", pa.string()),
        # The whole snapshot (strike rows included) as recorded, so a read gives it back unchanged.
        ("data", pa.string()),
        ("stream_id", pa.string()),
    ]
)
# Which lake table each hot stream kind goes to.
TABLE_OF_KIND = {"trades": "tick_data", "quotes": "quote_data", "depth": "depth_data", "snapshots": "gex_snapshots"}
_GEX_SCALARS = ("spot", "zero_gamma", "major_pos_vol", "major_pos_oi", "major_neg_vol", "major_neg_oi",
                "sum_gex_vol", "sum_gex_oi")  # fmt: skip


NS_PER_DAY = 86_400 * 1_000_000_000
_FEEDS = pa.array([FEED_NAMES.get(code, "") for code in range(max(FEED_NAMES) + 1)], type=pa.string())
_KINDS = {"trades": BlockKind.TRADES, "quotes": BlockKind.QUOTES, "depth": BlockKind.DEPTH}


def _feeds(codes: np.ndarray) -> pa.Array:
    if len(codes) and (codes == codes[0]).all():  # one feed per stream is the usual case
        return pa.repeat(_FEEDS[int(codes[0])], len(codes))
    return pc.take(_FEEDS, pa.array(codes.astype(np.int32)))


def _timestamps(ns: np.ndarray) -> pa.Array:
    return pa.array(ns, type=pa.int64()).cast(TIMESTAMP)


def _columns(kind: str, entries: list[tuple[str, bytes]]) -> tuple[list[np.ndarray], pa.Array]:
    """All entries' columns concatenated (event times resolved), and the rows' stream ids."""
    decoded = [decode_columns(data, _KINDS[kind]) for _, data in entries]
    counts = [len(columns[0]) for _, columns in decoded]
    width = len(decoded[0][1])
    merged = [np.concatenate([columns[i] for _, columns in decoded]) for i in range(width)]
    merged[0] = np.concatenate([(base_us + columns[0]) * 1000 for base_us, columns in decoded])
    ids = pa.array(np.repeat(np.array([entry_id for entry_id, _ in entries], dtype=object), counts), type=pa.string())
    indexes = pc.cast(pa.array(np.concatenate([np.arange(count) for count in counts])), pa.string())
    return merged, pc.binary_join_element_wise(ids, indexes, ":")


def _table(kind: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    """Entries as one Arrow table, column by column (numpy, no per-row Python)."""
    columns, stream_ids = _columns(kind, entries)
    ts = columns[0]
    if kind == "trades":
        _, prices, sizes, packed, recv, seqs = columns
        arrays = [_timestamps(ts), _timestamps(ts + recv * 1000), pa.array(prices / 100), pa.array(sizes),
                  pa.array((packed & 3).astype(np.int8)), _feeds(packed >> 2), pa.array(seqs)]  # fmt: skip
    elif kind == "quotes":
        _, bids, bid_sizes, asks, ask_sizes, feeds, recv = columns
        arrays = [_timestamps(ts), _timestamps(ts + recv * 1000), pa.array(bids / 100), pa.array(bid_sizes),
                  pa.array(asks / 100), pa.array(ask_sizes), _feeds(feeds)]  # fmt: skip
    else:
        _, ops, sides, prices, sizes, feeds = columns
        arrays = [_timestamps(ts), pa.array(ops.astype(np.int8)), pa.array(sides.astype(np.int8)),
                  pa.array(prices / 100), pa.array(sizes), _feeds(feeds)]  # fmt: skip
    return pa.Table.from_arrays([*arrays, stream_ids], schema=SCHEMAS[TABLE_OF_KIND[kind]])


def _gex_table(entries: list[tuple[str, bytes]]) -> pa.Table:
    """GEX snapshots (one per entry, a few per second at most): row by row is fast enough."""
    snapshots = [snapshot_decode(data) for _, data in entries]
    columns: dict[str, list[object]] = {
        "ts_event": [snapshot.timestamp * 1_000_000_000 for snapshot in snapshots],
        "package": [snapshot.package for snapshot in snapshots],
        "category": [snapshot.category for snapshot in snapshots],
        **{name: [getattr(snapshot, name) for snapshot in snapshots] for name in _GEX_SCALARS},
        "source": [snapshot.source for snapshot in snapshots],
        "units": [snapshot.units for snapshot in snapshots],
        "data": [data.decode() for _, data in entries],
        "stream_id": [_text(entry_id) for entry_id, _ in entries],
    }
    columns["ts_event"] = list(_timestamps(np.array(columns["ts_event"], dtype=np.int64)))
    return pa.Table.from_pydict(columns, schema=SCHEMAS["gex_snapshots"])


def tables_by_day(kind: str, symbol: str, entries: list[tuple[str, bytes]]) -> dict[date, pa.Table]:
    """The rows of some stream entries, as one Arrow table per UTC day of their exchange time."""
    if not entries:
        return {}
    table = _gex_table(entries) if kind == "snapshots" else _table(kind, entries)
    days = pc.divide(pc.cast(table["ts_event"], pa.int64()), NS_PER_DAY).to_numpy()
    result = {}
    unique = np.unique(days)
    for day in unique:
        moment = datetime.fromtimestamp(int(day) * 86_400, tz=UTC).date()
        # Most flushes hold one day: no copy of every column then.
        result[moment] = table if len(unique) == 1 else table.filter(pa.array(days == day))
    return result
