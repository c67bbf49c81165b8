"""The market-data lake tables (`tick_data`, `quote_data`, `depth_data`) fed by the hot store's
block streams `md:trades|quotes|depth:{SYM}`. Storage registers them itself (apps.py): it may
read market data's schema, and market data may not import storage.

Rows are built column by column from the blocks (numpy, no per-row Python); each row's
`stream_id` is `<entry id>:<index in the block>`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from apps.marketdata.blocks import BlockKind, decode_columns
from apps.marketdata.events import FEED_NAMES
from apps.storage.registry import LakeTable
from apps.storage.tables import TIMESTAMP, timestamps, view_with_stream_ids

TICK_SCHEMA = pa.schema(
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
)
QUOTE_SCHEMA = pa.schema(
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
)
DEPTH_SCHEMA = pa.schema(
    [
        ("ts_event", TIMESTAMP),
        ("op", pa.int8()),
        ("side", pa.int8()),
        ("price", pa.float64()),
        ("size", pa.int64()),
        ("feed", pa.string()),
        ("stream_id", pa.string()),
    ]
)

_FEEDS = pa.array([FEED_NAMES.get(code, "") for code in range(max(FEED_NAMES) + 1)], type=pa.string())


def _feeds(codes: np.ndarray) -> pa.Array:
    if len(codes) and (codes == codes[0]).all():  # one feed per stream is the usual case
        return pa.repeat(_FEEDS[int(codes[0])], len(codes))
    return pc.take(_FEEDS, pa.array(codes.astype(np.int32)))


def _columns(kind: BlockKind, entries: list[tuple[str, bytes]]) -> tuple[list[np.ndarray], pa.Array]:
    """All entries' columns concatenated (event times resolved), and the rows' stream ids."""
    decoded = [decode_columns(data, kind) for _, data in entries]
    counts = [len(columns[0]) for _, columns in decoded]
    width = len(decoded[0][1])
    merged = [np.concatenate([columns[i] for _, columns in decoded]) for i in range(width)]
    merged[0] = np.concatenate([(base_us + columns[0]) * 1000 for base_us, columns in decoded])
    ids = pa.array(np.repeat(np.array([entry_id for entry_id, _ in entries], dtype=object), counts), type=pa.string())
    indexes = pc.cast(pa.array(np.concatenate([np.arange(count) for count in counts])), pa.string())
    return merged, pc.binary_join_element_wise(ids, indexes, ":")


def trade_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    (ts, prices, sizes, packed, recv, seqs), stream_ids = _columns(BlockKind.TRADES, entries)
    arrays = [timestamps(ts), timestamps(ts + recv * 1000), pa.array(prices / 100), pa.array(sizes),
              pa.array((packed & 3).astype(np.int8)), _feeds(packed >> 2), pa.array(seqs)]  # fmt: skip
    return pa.Table.from_arrays([*arrays, stream_ids], schema=TICK_SCHEMA)


def quote_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    (ts, bids, bid_sizes, asks, ask_sizes, feeds, recv), stream_ids = _columns(BlockKind.QUOTES, entries)
    arrays = [timestamps(ts), timestamps(ts + recv * 1000), pa.array(bids / 100), pa.array(bid_sizes),
              pa.array(asks / 100), pa.array(ask_sizes), _feeds(feeds)]  # fmt: skip
    return pa.Table.from_arrays([*arrays, stream_ids], schema=QUOTE_SCHEMA)


def depth_rows(symbol: str, entries: list[tuple[str, bytes]]) -> pa.Table:
    (ts, ops, sides, prices, sizes, feeds), stream_ids = _columns(BlockKind.DEPTH, entries)
    arrays = [timestamps(ts), pa.array(ops.astype(np.int8)), pa.array(sides.astype(np.int8)),
              pa.array(prices / 100), pa.array(sizes), _feeds(feeds)]  # fmt: skip
    return pa.Table.from_arrays([*arrays, stream_ids], schema=DEPTH_SCHEMA)


TRADES = LakeTable(
    name="tick_data",
    stream="md:trades:{SYM}",
    schema=TICK_SCHEMA,
    rows=trade_rows,
    retention="trades",
    label="Trades",
    view=view_with_stream_ids("{source}"),  # imported trades store a prefix and `seq` (tables.py)
)
QUOTES = LakeTable(
    name="quote_data",
    stream="md:quotes:{SYM}",
    schema=QUOTE_SCHEMA,
    rows=quote_rows,
    retention="quotes",
    label="Quotes",
)
DEPTH = LakeTable(
    name="depth_data", stream="md:depth:{SYM}", schema=DEPTH_SCHEMA, rows=depth_rows, retention="depth", label="Depth"
)
MARKET_TABLES = (TRADES, QUOTES, DEPTH)
