"""The hot store writer: batches of normalized events into per-symbol Redis streams and the
last-value hash, in one pipelined round trip per batch. Bars are not kept here: `/api/bars`
builds them from the trades (hot store and lake), at any interval."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio

from apps.core import keys
from apps.core.cluster_routing import queue_command
from apps.core.codec import dumps
from apps.marketdata.blocks import TradeColumns, encode_depth, encode_quotes, encode_trades
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Event, Quote, Trade, to_price_int
from apps.marketdata.services.scripts import BLOCK, TRADES

NS_PER_MS = 1_000_000


@dataclass
class WriteResult:
    trades: int = 0
    quotes: int = 0
    depth: int = 0
    last_ids: dict[str, str] = field(default_factory=dict)
    # Events Redis refused (a key of the wrong type, a script error), with the reason; the
    # rest of the batch was written.
    rejected: list[tuple[Sequence[Event], str]] = field(default_factory=list)

    @property
    def events(self) -> int:
        return self.trades + self.quotes + self.depth


class HotStoreWriter:
    """Writes batches of events; one instance per process and event loop.

    The events of one batch, symbol and kind become one block (one stream entry); each
    symbol's stream and last-value hash change together in one Lua call, and a batch is one
    pipelined round trip plus one pub/sub notification.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        feed: str,
        keyspace: keys.KeySpace = keys.LIVE,
        expire_seconds: int | None = None,
    ) -> None:
        self.client = client
        self.feed = feed
        # The live store, or a replay's sandbox: the same layout under the sandbox's prefix.
        self.keyspace = keyspace
        # A sandbox's keys expire this long after their last write (None: never; live keys never do).
        self.expire_seconds = expire_seconds
        self._trades = client.register_script(TRADES)
        self._block = client.register_script(BLOCK)
        self._loaded = False

    async def _load_scripts(self) -> None:
        # Loaded once, then called by SHA: redis-py's pipelined Script objects would ask
        # SCRIPT EXISTS on every batch, one more round trip each time.
        for script in (self._trades, self._block):
            script.sha = await self.client.script_load(script.script)
        self._loaded = True

    async def write(self, events: Sequence[Event]) -> WriteResult:
        if not self._loaded:
            await self._load_scripts()
        result = await self._write(events)
        if any(reason.startswith("NOSCRIPT") for _, reason in result.rejected):
            # Redis restarted or SCRIPT FLUSH ran since the load: nothing of those calls was
            # written, so load again and write them.
            await self._load_scripts()
            retried = [events for events, reason in result.rejected if reason.startswith("NOSCRIPT")]
            result.rejected = [item for item in result.rejected if not item[1].startswith("NOSCRIPT")]
            for batch in retried:
                again = await self._write(batch)
                result.trades, result.quotes, result.depth = (
                    result.trades + again.trades,
                    result.quotes + again.quotes,
                    result.depth + again.depth,
                )
                result.last_ids.update(again.last_ids)
                result.rejected += again.rejected
        return result

    async def _write(self, events: Sequence[Event]) -> WriteResult:
        trades: dict[str, list[Trade]] = defaultdict(list)
        quotes: dict[str, list[Quote]] = defaultdict(list)
        depth: dict[str, list[DepthSnapshot | DepthUpdate]] = defaultdict(list)
        groups: dict[type, Any] = {
            Trade: trades,
            Quote: quotes,
            DepthSnapshot: depth,
            DepthUpdate: depth,
        }
        for event in events:
            group: Any = groups.get(type(event))  # an exact type lookup is the fast path
            if group is None:
                group = trades if isinstance(event, Trade) else quotes if isinstance(event, Quote) else depth
            group[event.symbol].append(event)
        if not (trades or quotes or depth):
            return WriteResult()

        calls: list[tuple[str, str, Sequence[Event]]] = []
        space = self.keyspace
        async with self.client.pipeline(transaction=False) as pipe:
            for symbol, batch in trades.items():
                last = batch[-1]
                queue_command(
                    pipe,
                    "EVALSHA",
                    self._trades.sha,
                    2,
                    space.trades(symbol),
                    space.last(symbol),
                    batch[0].ts_event // NS_PER_MS,
                    encode_trades(TradeColumns.of(batch)),
                    len(batch),
                    to_price_int(last.price),
                    last.size,
                    last.ts_event // NS_PER_MS,
                )
                calls.append(("trades", space.trades(symbol), batch))
            for symbol, quote_batch in quotes.items():
                last_quote = quote_batch[-1]
                queue_command(
                    pipe,
                    "EVALSHA",
                    self._block.sha,
                    2,
                    space.quotes(symbol),
                    space.last(symbol),
                    quote_batch[0].ts_event // NS_PER_MS,
                    len(quote_batch),
                    encode_quotes(quote_batch),
                    "bid",
                    to_price_int(last_quote.bid_price),
                    "bid_size",
                    last_quote.bid_size,
                    "ask",
                    to_price_int(last_quote.ask_price),
                    "ask_size",
                    last_quote.ask_size,
                    "quote_ts",
                    last_quote.ts_event // NS_PER_MS,
                )
                calls.append(("quotes", space.quotes(symbol), quote_batch))
            for symbol, depth_batch in depth.items():
                queue_command(
                    pipe,
                    "EVALSHA",
                    self._block.sha,
                    2,
                    space.depth(symbol),
                    space.last(symbol),
                    depth_batch[0].ts_event // NS_PER_MS,
                    len(depth_batch),
                    encode_depth(depth_batch),
                )
                calls.append(("depth", space.depth(symbol), depth_batch))
            if self.expire_seconds:
                for key in {key for _, stream_key, batch in calls for key in (stream_key, space.last(batch[0].symbol))}:
                    pipe.expire(key, self.expire_seconds)  # type: ignore[unused-awaitable]
            if trades:
                summary = {"feed": self.feed, "symbols": sorted(trades), "count": sum(len(b) for b in trades.values())}
                queue_command(pipe, "PUBLISH", space.trades_channel(self.feed), dumps(summary))
            replies = await pipe.execute(raise_on_error=False)

        return _collect(calls, replies)


def _collect(calls: list[tuple[str, str, Sequence[Event]]], replies: list[Any]) -> WriteResult:
    """What each call of a pipelined batch wrote, and what Redis refused."""
    result = WriteResult()
    for (kind, key, written), reply in zip(calls, replies, strict=False):
        if isinstance(reply, redis.exceptions.NoScriptError):
            result.rejected.append((written, f"NOSCRIPT {key}: {reply}"))
            continue
        if isinstance(reply, redis.ResponseError):
            result.rejected.append((written, f"{key}: {reply}"))
            continue
        if isinstance(reply, Exception):
            raise reply
        setattr(result, kind, getattr(result, kind) + len(written))
        last_id = reply[1]
        result.last_ids[key] = last_id.decode() if isinstance(last_id, bytes) else str(last_id)
    return result
