"""The trade block: how trades sit in `md:trades:{SYM}`.

One stream entry holds the trades of one write batch of one symbol, as compressed columns
(zlib over little-endian int64 columns, prices and sequence numbers delta-encoded). At feed
rates worth worrying about (tens of trades per batch and more) a trade costs 6-10 bytes of Redis
memory, against ~31 bytes as an entry of its own; see docs/benchmarks.md. A trade's cursor is
`<entry id>:<index in the block>`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

from apps.marketdata.events import FEED_NAMES, Side, Trade, feed_code, to_price_int

FORMAT_VERSION = 1
_HEADER = struct.Struct("<Bqi")  # version, base time (µs), count


def encode_block(trades: Sequence[Trade]) -> bytes:
    n = len(trades)
    base_us = trades[0].ts_event // 1000
    times = [trade.ts_event // 1000 - base_us for trade in trades]
    prices = [to_price_int(trade.price) for trade in trades]
    seqs = [trade.seq for trade in trades]
    columns = struct.pack(
        f"<{n}q{n}q{n}q{n}q{n}q{n}q",
        *times,
        *[prices[0]] + [prices[i] - prices[i - 1] for i in range(1, n)],
        *[trade.size for trade in trades],
        *[int(trade.side) | (feed_code(trade.feed) << 2) for trade in trades],
        *[max(0, (trade.ts_recv - trade.ts_event) // 1000) for trade in trades],
        *[seqs[0]] + [seqs[i] - seqs[i - 1] for i in range(1, n)],
    )
    return _HEADER.pack(FORMAT_VERSION, base_us, n) + zlib.compress(columns, 1)


def decode_block(symbol: str, data: bytes) -> list[Trade]:
    version, base_us, n = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise ValueError(f"trade block format {version} is not {FORMAT_VERSION}")
    values = struct.unpack(f"<{6 * n}q", zlib.decompress(data[_HEADER.size :]))
    times, price_deltas, sizes, packed, recv, seq_deltas = (values[i * n : (i + 1) * n] for i in range(6))
    trades = []
    price = seq = 0
    for i in range(n):
        price += price_deltas[i]
        seq += seq_deltas[i]
        ts_event = (base_us + times[i]) * 1000
        trades.append(
            Trade(
                symbol=symbol,
                ts_event=ts_event,
                ts_recv=ts_event + recv[i] * 1000,
                price=price / 100,
                size=sizes[i],
                side=Side(packed[i] & 3),
                feed=FEED_NAMES.get(packed[i] >> 2, ""),
                seq=seq,
            )
        )
    return trades


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
