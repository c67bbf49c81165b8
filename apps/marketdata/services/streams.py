"""The hot store writer: batches of normalized events into per-symbol Redis streams, the
last-value hash and rolling 1 s / 1 min bars, in one pipelined round trip per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import redis.asyncio

from apps.core import keys
from apps.core.codec import dumps
from apps.marketdata.events import (
    DepthSnapshot,
    DepthUpdate,
    Event,
    Quote,
    Trade,
    feed_code,
    to_price_int,
)
from apps.marketdata.services.scripts import APPEND, TRADES
from apps.marketdata.trade_blocks import batch_bars, encode_block

NS_PER_MS = 1_000_000
BARS_1S_KEPT = 6 * 3600
BARS_1M_KEPT = 5 * 1440

QUOTE_FIELDS = msgspec.msgpack.encode(["b", "B", "a", "A", "f", "r"])
QUOTE_HASH = msgspec.msgpack.encode(["bid", "bid_size", "ask", "ask_size"])
DEPTH_FIELDS = msgspec.msgpack.encode(["f", "k", "d", "p", "s", "b", "a"])
NO_HASH = msgspec.msgpack.encode([])
_msgpack = msgspec.msgpack.Encoder()


@dataclass
class WriteResult:
    trades: int = 0
    quotes: int = 0
    depth: int = 0
    last_ids: dict[str, str] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.trades + self.quotes + self.depth


def _levels(levels: Sequence[Any]) -> str:
    return " ".join(f"{to_price_int(level.price)}:{level.size}" for level in levels)


def _quote_entry(quote: Quote) -> list[int]:
    ts_ms = quote.ts_event // NS_PER_MS
    return [
        ts_ms,
        to_price_int(quote.bid_price),
        quote.bid_size,
        to_price_int(quote.ask_price),
        quote.ask_size,
        feed_code(quote.feed),
        max(0, quote.ts_recv // NS_PER_MS - ts_ms),
    ]


def _depth_entry(event: DepthSnapshot | DepthUpdate) -> list[int | str]:
    ts_ms = event.ts_event // NS_PER_MS
    if isinstance(event, DepthSnapshot):
        return [ts_ms, feed_code(event.feed), "s", 0, 0, 0, _levels(event.bids), _levels(event.asks)]
    return [ts_ms, feed_code(event.feed), "u", int(event.side), to_price_int(event.price), event.size, "", ""]


class HotStoreWriter:
    """Writes batches of events; one instance per process and event loop.

    Each symbol's stream, last-value hash and bars change together in one Lua call, and a
    batch is one pipelined round trip (plus one pub/sub notification). Trades of one batch
    and symbol become one trade block (apps/marketdata/trade_blocks.py).
    """

    def __init__(self, client: redis.asyncio.Redis, *, feed: str) -> None:
        self.client = client
        self.feed = feed
        self._trades = client.register_script(TRADES)
        self._append = client.register_script(APPEND)

    async def write(self, events: Sequence[Event]) -> WriteResult:
        trades: dict[str, list[Trade]] = defaultdict(list)
        quotes: dict[str, list[list[int]]] = defaultdict(list)
        depth: dict[str, list[list[int | str]]] = defaultdict(list)
        for event in events:
            if isinstance(event, Trade):
                trades[event.symbol].append(event)
            elif isinstance(event, Quote):
                quotes[event.symbol].append(_quote_entry(event))
            else:
                depth[event.symbol].append(_depth_entry(event))
        if not (trades or quotes or depth):
            return WriteResult()

        calls: list[tuple[str, str]] = []
        async with self.client.pipeline(transaction=False) as pipe:
            for symbol, batch in trades.items():
                last = batch[-1]
                await self._trades(
                    keys=[keys.trades(symbol), keys.last(symbol), keys.bars("1s", symbol), keys.bars("1m", symbol)],
                    args=[
                        batch[0].ts_event // NS_PER_MS,
                        encode_block(batch),
                        len(batch),
                        to_price_int(last.price),
                        last.size,
                        last.ts_event // NS_PER_MS,
                        BARS_1S_KEPT,
                        BARS_1M_KEPT,
                        _msgpack.encode(batch_bars(batch, 1000)),
                        _msgpack.encode(batch_bars(batch, 60_000)),
                    ],
                    client=pipe,
                )
                calls.append(("trades", keys.trades(symbol)))
            for symbol, quote_entries in quotes.items():
                await self._append(
                    keys=[keys.quotes(symbol), keys.last(symbol)],
                    args=[QUOTE_FIELDS, QUOTE_HASH, "quote_ts", _msgpack.encode(quote_entries)],
                    client=pipe,
                )
                calls.append(("quotes", keys.quotes(symbol)))
            for symbol, entries in depth.items():
                await self._append(
                    keys=[keys.depth(symbol), keys.depth(symbol)],
                    args=[DEPTH_FIELDS, NO_HASH, "depth_ts", _msgpack.encode(entries)],
                    client=pipe,
                )
                calls.append(("depth", keys.depth(symbol)))
            if trades:
                summary = {"feed": self.feed, "symbols": sorted(trades), "count": sum(len(b) for b in trades.values())}
                pipe.publish(keys.trades_channel(self.feed), dumps(summary))  # type: ignore[unused-awaitable]
            replies = await pipe.execute()

        result = WriteResult()
        for (kind, key), reply in zip(calls, replies, strict=False):
            count, last_id = int(reply[0]), reply[1]
            setattr(result, kind, getattr(result, kind) + count)
            result.last_ids[key] = last_id.decode() if isinstance(last_id, bytes) else str(last_id)
        return result
