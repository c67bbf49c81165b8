"""Blocks: how events sit in the hot store's streams.

One stream entry holds the events of one write batch, one symbol and one kind, as compressed
columns (zlib over little-endian int64 columns; prices and sequence numbers delta-encoded).
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
from typing import Any

from apps.marketdata.events import (
    FEED_NAMES,
    DepthSnapshot,
    DepthUpdate,
    Quote,
    Side,
    Trade,
    feed_code,
    to_price_int,
)

FORMAT_VERSION = 1
_HEADER = struct.Struct("<BBqii")  # version, kind, base time (µs), rows, columns


class BlockKind(IntEnum):
    TRADES = 1
    QUOTES = 2
    DEPTH = 3


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


def _deltas(values: list[int]) -> list[int]:
    return [values[0]] + [values[i] - values[i - 1] for i in range(1, len(values))] if values else []


def _sums(values: Sequence[int]) -> list[int]:
    total, out = 0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _encode(kind: BlockKind, base_us: int, columns: list[list[int]]) -> bytes:
    rows = len(columns[0])
    flat = [value for column in columns for value in column]
    body = zlib.compress(struct.pack(f"<{len(flat)}q", *flat), 1)
    return _HEADER.pack(FORMAT_VERSION, kind, base_us, rows, len(columns)) + body


def _decode(data: bytes, kind: BlockKind) -> tuple[int, list[tuple[int, ...]]]:
    version, found, base_us, rows, width = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION or found != kind:
        raise ValueError(f"block format {version}/{found} is not {FORMAT_VERSION}/{int(kind)}")
    flat = struct.unpack(f"<{rows * width}q", zlib.decompress(data[_HEADER.size :]))
    return base_us, [flat[i * rows : (i + 1) * rows] for i in range(width)]


def encode_trades(trades: Sequence[Trade]) -> bytes:
    base_us = trades[0].ts_event // 1000
    return _encode(
        BlockKind.TRADES,
        base_us,
        [
            [trade.ts_event // 1000 - base_us for trade in trades],
            _deltas([to_price_int(trade.price) for trade in trades]),
            [trade.size for trade in trades],
            [int(trade.side) | (feed_code(trade.feed) << 2) for trade in trades],
            [max(0, (trade.ts_recv - trade.ts_event) // 1000) for trade in trades],
            _deltas([trade.seq for trade in trades]),
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
                Side(code & 3),
                FEED_NAMES.get(code >> 2, ""),
                seq,
            )
        )
    return trades


def encode_quotes(quotes: Sequence[Quote]) -> bytes:
    base_us = quotes[0].ts_event // 1000
    return _encode(
        BlockKind.QUOTES,
        base_us,
        [
            [quote.ts_event // 1000 - base_us for quote in quotes],
            _deltas([to_price_int(quote.bid_price) for quote in quotes]),
            [quote.bid_size for quote in quotes],
            _deltas([to_price_int(quote.ask_price) for quote in quotes]),
            [quote.ask_size for quote in quotes],
            [feed_code(quote.feed) for quote in quotes],
            [max(0, (quote.ts_recv - quote.ts_event) // 1000) for quote in quotes],
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
    times: list[int] = []
    ops: list[int] = []
    sides: list[int] = []
    prices: list[int] = []
    sizes: list[int] = []
    feeds: list[int] = []
    for event in events:
        time_us, feed = event.ts_event // 1000 - base_us, feed_code(event.feed)
        if isinstance(event, DepthUpdate):
            rows = [(DepthOp.SET, int(event.side), to_price_int(event.price), event.size)]
        else:
            rows = [(DepthOp.CLEAR, 0, 0, 0)]
            rows += [(DepthOp.SET, int(Side.BUY), to_price_int(level.price), level.size) for level in event.bids]
            rows += [(DepthOp.SET, int(Side.SELL), to_price_int(level.price), level.size) for level in event.asks]
        for op, side, price, size in rows:
            times.append(time_us)
            ops.append(op)
            sides.append(side)
            prices.append(price)
            sizes.append(size)
            feeds.append(feed)
    return _encode(BlockKind.DEPTH, base_us, [times, ops, sides, _deltas(prices), sizes, feeds])


def decode_depth(data: bytes) -> list[DepthRow]:
    base_us, (times, ops, sides, prices, sizes, feeds) = _decode(data, BlockKind.DEPTH)
    return [
        DepthRow((base_us + time_us) * 1000, DepthOp(op), Side(side), price / 100, size, FEED_NAMES.get(feed, ""))
        for time_us, op, side, price, size, feed in zip(times, ops, sides, _sums(prices), sizes, feeds, strict=True)
    ]


def batch_bars(trades: Sequence[Trade], width_ms: int) -> list[list[int]]:
    """OHLCV bars of one batch ([start_ms, o, h, l, c, v], prices as integer hundredths). A trade
    older than the bar before it counts in that bar, as it does when the writer merges."""
    bars: list[list[int]] = []
    latest = -1
    for trade in trades:
        latest = max(latest, trade.ts_event // 1_000_000)
        start = latest - latest % width_ms
        price = to_price_int(trade.price)
        if bars and bars[-1][0] == start:
            bar = bars[-1]
            bar[2] = max(bar[2], price)
            bar[3] = min(bar[3], price)
            bar[4] = price
            bar[5] += trade.size
        else:
            bars.append([start, price, price, price, price, trade.size])
    return bars


def decode_columns(data: bytes, kind: BlockKind) -> tuple[int, list[Any]]:
    """A block's columns as int64 numpy arrays (deltas resolved), for bulk readers such as the
    lake's flush; `decode_trades` and friends give events instead."""
    import numpy as np

    version, found, base_us, rows, width = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION or found != kind:
        raise ValueError(f"block format {version}/{found} is not {FORMAT_VERSION}/{int(kind)}")
    flat = np.frombuffer(zlib.decompress(data[_HEADER.size :]), dtype="<i8").reshape(width, rows)
    columns = [flat[i] for i in range(width)]
    for index in DELTA_COLUMNS[kind]:
        columns[index] = np.cumsum(columns[index])
    return base_us, columns


DELTA_COLUMNS = {BlockKind.TRADES: (1, 5), BlockKind.QUOTES: (1, 3), BlockKind.DEPTH: (3,)}
