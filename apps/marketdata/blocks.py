"""Blocks: how events sit in the hot store's streams.

One stream entry holds the events of one write batch, one symbol and one kind, as compressed
columns (LZ4 over little-endian integer columns, each in the narrowest width its values fit;
prices and sequence numbers delta-encoded).
At feed rates worth worrying about a trade costs about 4 bytes of Redis memory, against ~31 as
an entry of its own (docs/benchmarks.md), and Redis appends one entry per batch instead of one
per event. An event's cursor is `<entry id>:<index in the block>`.

Depth is stored as operations in arrival order: CLEAR (a snapshot begins: forget the feed's
book) and SET (a level's size; 0 removes it). A snapshot is a CLEAR followed by its levels, so
snapshots and updates of several feeds interleave in one stream without losing their order.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from operator import attrgetter
from typing import Any, cast

import numpy as np
import pyarrow as pa

from apps.marketdata.events import (
    FEED_NAMES,
    PRICE_SCALE,
    DepthSnapshot,
    DepthUpdate,
    Quote,
    Side,
    Trade,
    feed_code,
)

FORMAT_VERSION = 3
_HEADER = struct.Struct("<BBqii")  # version, kind, base time (µs), rows, columns
# Format 3 compresses with LZ4 (raw blocks, through pyarrow's codec): a tenth of zlib's time at
# level 1, which was the writer's largest single cost, for about 5.4 instead of 3.3 bytes per
# trade (docs/benchmarks.md). Formats 1 and 2 (zlib) still decode.
_LZ4 = pa.Codec("lz4_raw")


class BlockKind(IntEnum):
    TRADES = 1
    QUOTES = 2
    DEPTH = 3


_SIDES = (Side.UNKNOWN, Side.BUY, Side.SELL, Side.UNKNOWN)


class DepthOp(IntEnum):
    CLEAR = 0
    SET = 1


@dataclass(frozen=True)
class DepthRow:
    ts_event: int
    op: DepthOp
    side: Side
    price: float
    size: int
    feed: str


def _deltas(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    if len(values):
        out[0] = values[0]
        np.subtract(values[1:], values[:-1], out=out[1:])
    return out


def _sums(values: Sequence[int]) -> list[int]:
    total, out = 0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _column(items: Sequence[Any], name: str, dtype: Any = np.int64) -> np.ndarray:
    return np.fromiter(map(attrgetter(name), items), dtype=dtype, count=len(items))


def _prices(items: Sequence[Any], name: str) -> np.ndarray:
    # Integer hundredths, rounded half to even as `to_price_int` (Python's round) does.
    return np.rint(_column(items, name, np.float64) * PRICE_SCALE).astype(np.int64)


def _feeds(items: Sequence[Any]) -> np.ndarray | int:
    """The feed code column, or one code when the whole batch comes from one feed (the usual case)."""
    first = items[0].feed
    if all(item.feed == first for item in items):
        return feed_code(first)
    return np.fromiter((feed_code(item.feed) for item in items), dtype=np.int64, count=len(items))


# Since version 2 each column is stored in the narrowest signed width its values fit (1, 2, 4
# or 8 bytes), or as one value when every row holds it (width code 0): less to compress and
# less memory. Version 1 (every column int64) still decodes.
_WIDTHS = ((1, -(2**7), 2**7 - 1), (2, -(2**15), 2**15 - 1), (4, -(2**31), 2**31 - 1))
_DTYPES = {1: "<i1", 2: "<i2", 4: "<i4", 8: "<i8"}


def _narrow(column: np.ndarray) -> tuple[int, bytes]:
    low, high = int(column.min()), int(column.max())
    if low == high:
        return 0, struct.pack("<q", low)
    for width, smallest, largest in _WIDTHS:
        if smallest <= low and high <= largest:
            return width, column.astype(_DTYPES[width]).tobytes()
    return 8, column.astype("<i8").tobytes()


def _encode(kind: BlockKind, base_us: int, columns: list[np.ndarray | int]) -> bytes:
    rows = max(len(column) for column in columns if isinstance(column, np.ndarray))
    codes, parts = bytearray(), []
    for column in columns:
        code, data = (0, struct.pack("<q", column)) if isinstance(column, int) else _narrow(column)
        codes.append(code)
        parts.append(data)
    body = _LZ4.compress(b"".join(parts), asbytes=True)
    return _HEADER.pack(FORMAT_VERSION, kind, base_us, rows, len(columns)) + bytes(codes) + body


def _raw_columns(data: bytes, kind: BlockKind) -> tuple[int, list[np.ndarray]]:
    """A block's stored columns as int64 arrays (deltas not yet resolved), either version."""
    version, found, base_us, rows, width = _HEADER.unpack_from(data)
    if found != kind or version not in (1, 2, FORMAT_VERSION):
        raise ValueError(f"block format {version}/{found} is not {FORMAT_VERSION}/{int(kind)}")
    if version == 1:
        flat = np.frombuffer(zlib.decompress(data[_HEADER.size :]), dtype="<i8").reshape(width, rows)
        return base_us, [flat[i] for i in range(width)]
    codes = data[_HEADER.size : _HEADER.size + width]
    if version == 2:
        body = zlib.decompress(data[_HEADER.size + width :])
    else:
        size = sum(code * rows if code else 8 for code in codes)
        body = _LZ4.decompress(data[_HEADER.size + width :], decompressed_size=size, asbytes=True)
    columns, offset = [], 0
    for code in codes:
        if code == 0:
            columns.append(np.full(rows, struct.unpack_from("<q", body, offset)[0], dtype=np.int64))
            offset += 8
        else:
            columns.append(np.frombuffer(body, dtype=_DTYPES[code], count=rows, offset=offset).astype(np.int64))
            offset += code * rows
    return base_us, columns


def _decode(data: bytes, kind: BlockKind) -> tuple[int, list[list[int]]]:
    base_us, columns = _raw_columns(data, kind)
    return base_us, [column.tolist() for column in columns]


def _times_us(items: Sequence[Any], events: np.ndarray | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """Base time (µs of the first event), event times relative to it, and receive latencies (µs, ≥ 0)."""
    if events is None:
        events = _column(items, "ts_event")
    base_us = int(events[0]) // 1000
    latency = np.maximum((_column(items, "ts_recv") - events) // 1000, 0)
    return base_us, events // 1000 - base_us, latency


@dataclass(frozen=True)
class TradeColumns:
    """The columns of a batch of one symbol's trades, taken from the events once and shared by
    the block and both bar widths (each pass over the events costs about as much as a column)."""

    trades: Sequence[Trade]
    ts_event: np.ndarray
    prices: np.ndarray  # integer hundredths
    sizes: np.ndarray

    @classmethod
    def of(cls, trades: Sequence[Trade]) -> TradeColumns:
        return cls(trades, _column(trades, "ts_event"), _prices(trades, "price"), _column(trades, "size"))


def encode_trades(trades: Sequence[Trade] | TradeColumns) -> bytes:
    columns = trades if isinstance(trades, TradeColumns) else TradeColumns.of(trades)
    items = columns.trades
    base_us, times, latency = _times_us(items, columns.ts_event)
    return _encode(
        BlockKind.TRADES,
        base_us,
        [
            times,
            _deltas(columns.prices),
            columns.sizes,
            _column(items, "side") | (np.asarray(_feeds(items)) << 2),
            latency,
            _deltas(_column(items, "seq")),
        ],
    )


def decode_trades(symbol: str, data: bytes) -> list[Trade]:
    base_us, (times, prices, sizes, packed, recv, seqs) = _decode(data, BlockKind.TRADES)
    trades = []
    for time_us, price, size, code, latency, seq in zip(
        times, _sums(prices), sizes, packed, recv, _sums(seqs), strict=True
    ):
        ts_event = (base_us + time_us) * 1000
        trades.append(
            Trade(
                symbol,
                ts_event,
                ts_event + latency * 1000,
                price / 100,
                size,
                _SIDES[code & 3],
                FEED_NAMES.get(code >> 2, ""),
                seq,
            )
        )
    return trades


def encode_quotes(quotes: Sequence[Quote]) -> bytes:
    base_us, times, latency = _times_us(quotes)
    return _encode(
        BlockKind.QUOTES,
        base_us,
        [
            times,
            _deltas(_prices(quotes, "bid_price")),
            _column(quotes, "bid_size"),
            _deltas(_prices(quotes, "ask_price")),
            _column(quotes, "ask_size"),
            _feeds(quotes),
            latency,
        ],
    )


def decode_quotes(symbol: str, data: bytes) -> list[Quote]:
    base_us, (times, bids, bid_sizes, asks, ask_sizes, feeds, recv) = _decode(data, BlockKind.QUOTES)
    quotes = []
    rows = zip(times, _sums(bids), bid_sizes, _sums(asks), ask_sizes, feeds, recv, strict=True)
    for time_us, bid, bid_size, ask, ask_size, feed, latency in rows:
        ts_event = (base_us + time_us) * 1000
        quotes.append(
            Quote(
                symbol,
                ts_event,
                ts_event + latency * 1000,
                bid / 100,
                bid_size,
                ask / 100,
                ask_size,
                FEED_NAMES.get(feed, ""),
            )
        )
    return quotes


def encode_depth(events: Sequence[DepthSnapshot | DepthUpdate]) -> bytes:
    base_us = events[0].ts_event // 1000
    if all(type(event) is DepthUpdate for event in events):
        # Updates only (the usual batch): one SET row per event, built column by column.
        updates = cast(Sequence[DepthUpdate], events)
        return _encode(
            BlockKind.DEPTH,
            base_us,
            [
                _column(updates, "ts_event") // 1000 - base_us,
                int(DepthOp.SET),
                _column(updates, "side"),
                _deltas(_prices(updates, "price")),
                _column(updates, "size"),
                _feeds(updates),
            ],
        )
    # Snapshots in the batch: one CLEAR row, then a SET row per level; columns grow by whole
    # runs (extend) and prices are scaled in one vectorized step.
    times: list[int] = []
    ops: list[int] = []
    sides: list[int] = []
    prices: list[float] = []
    sizes: list[int] = []
    feeds: list[int] = []
    for event in events:
        if type(event) is DepthUpdate:
            times.append(event.ts_event)
            ops.append(DepthOp.SET)
            sides.append(event.side)
            prices.append(event.price)
            sizes.append(event.size)
            feeds.append(feed_code(event.feed))
            continue
        snapshot = cast(DepthSnapshot, event)
        bids, asks = len(snapshot.bids), len(snapshot.asks)
        times.extend([snapshot.ts_event] * (1 + bids + asks))
        ops.append(DepthOp.CLEAR)
        ops.extend([DepthOp.SET] * (bids + asks))
        sides.append(0)
        sides.extend([Side.BUY] * bids)
        sides.extend([Side.SELL] * asks)
        prices.append(0.0)
        prices.extend([level.price for level in snapshot.bids])
        prices.extend([level.price for level in snapshot.asks])
        sizes.append(0)
        sizes.extend([level.size for level in snapshot.bids])
        sizes.extend([level.size for level in snapshot.asks])
        feeds.extend([feed_code(snapshot.feed)] * (1 + bids + asks))
    scaled = np.rint(np.array(prices, dtype=np.float64) * PRICE_SCALE).astype(np.int64)
    return _encode(
        BlockKind.DEPTH,
        base_us,
        [np.array(times, dtype=np.int64) // 1000 - base_us, np.array(ops, dtype=np.int64),
         np.array(sides, dtype=np.int64), _deltas(scaled), np.array(sizes, dtype=np.int64),
         np.array(feeds, dtype=np.int64)],
    )  # fmt: skip


def decode_depth(data: bytes) -> list[DepthRow]:
    base_us, (times, ops, sides, prices, sizes, feeds) = _decode(data, BlockKind.DEPTH)
    return [
        DepthRow((base_us + time_us) * 1000, DepthOp(op), Side(side), price / 100, size, FEED_NAMES.get(feed, ""))
        for time_us, op, side, price, size, feed in zip(times, ops, sides, _sums(prices), sizes, feeds, strict=True)
    ]


def decode_columns(data: bytes, kind: BlockKind) -> tuple[int, list[Any]]:
    """A block's columns as int64 numpy arrays (deltas resolved), for bulk readers such as the
    lake's flush; `decode_trades` and friends give events instead."""
    base_us, columns = _raw_columns(data, kind)
    for index in DELTA_COLUMNS[kind]:
        columns[index] = np.cumsum(columns[index])
    return base_us, columns


DELTA_COLUMNS = {BlockKind.TRADES: (1, 5), BlockKind.QUOTES: (1, 3), BlockKind.DEPTH: (3,)}
