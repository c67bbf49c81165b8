"""Writing UW events to the hot store: each kind to its stream, each id once.

One Lua call per kind and batch refuses the ids its dedup set already holds and appends the rest
(`d` = the event as JSON, Decimals as strings), so two writers, a reconnect's repeats or a
back-fill that overlaps the live feed never store an id twice. Then one notification per batch
on the kind's pub/sub channel. Prices and headlines (hot only) go to capped streams.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import dumps
from apps.uw.events import FlowAlert, MarketAgg, NewsHeadline, OptionTrade, UnderlyingPrice, UWEvent, uw_event_encode
from apps.uw.streams import FLOW_ALERTS, MARKET_AGGS, NEWS_MAXLEN, OPTION_TRADES, PRICE_MAXLEN, UWStream

# Ids (and payloads) per script call: a big back-fill is several calls, none of them long.
CHUNK = 1000

APPEND_NEW = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[2])))
local count, last = 0, ''
for i = 3, #ARGV, 2 do
  if redis.call('ZADD', KEYS[2], 'NX', now, ARGV[i]) == 1 then
    last = redis.call('XADD', KEYS[1], '*', 'd', ARGV[i + 1])
    count = count + 1
  end
end
return {count, last}
"""


@dataclass
class UWWriteResult:
    """What one batch wrote: new events per kind, repeats refused, the last entry id per stream."""

    written: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    last_ids: dict[str, str] = field(default_factory=dict)
    prices: int = 0
    headlines: int = 0

    @property
    def events(self) -> int:
        return sum(self.written.values()) + self.prices + self.headlines


def _stream_of(event: UWEvent) -> UWStream | None:
    if isinstance(event, OptionTrade):
        return OPTION_TRADES
    if isinstance(event, FlowAlert):
        return FLOW_ALERTS
    if isinstance(event, MarketAgg):
        return MARKET_AGGS
    return None


def _plan(events: Sequence[UWEvent]) -> tuple[dict[UWStream, list[UWEvent]], list[UnderlyingPrice], list[NewsHeadline]]:
    by_stream: dict[UWStream, list[UWEvent]] = defaultdict(list)
    prices: list[UnderlyingPrice] = []
    news: list[NewsHeadline] = []
    for event in events:
        stream = _stream_of(event)
        if stream is not None:
            by_stream[stream].append(event)
        elif isinstance(event, UnderlyingPrice):
            prices.append(event)
        elif isinstance(event, NewsHeadline):
            news.append(event)
        else:
            raise TypeError(f"not a UW event: {type(event).__name__}")
    return by_stream, prices, news


def _args(stream: UWStream, chunk: Sequence[UWEvent], now_ms: int) -> list[Any]:
    args: list[Any] = [now_ms, stream.dedup_seconds * 1000]
    for event in chunk:
        args += [event.id, uw_event_encode(event)]  # type: ignore[union-attr]
    return args


def _note(result: UWWriteResult, stream: UWStream, reply: Any, sent: int) -> None:
    count, last = int(reply[0]), reply[1]
    last = last.decode() if isinstance(last, bytes) else str(last)
    result.written[stream.kind] = result.written.get(stream.kind, 0) + count
    result.duplicates += sent - count
    if count:
        result.last_ids[stream.stream] = last


def _announcement(result: UWWriteResult, stream: UWStream) -> bytes:
    return dumps({"kind": stream.kind, "count": result.written[stream.kind], "last_id": result.last_ids[stream.stream]})


def uw_events_write(*, client: redis.Redis, events: Sequence[UWEvent]) -> UWWriteResult:
    """Store a batch of UW events (from a worker or a command); repeated ids are skipped."""
    script = client.register_script(APPEND_NEW)
    by_stream, prices, news = _plan(events)
    result = UWWriteResult()
    now_ms = int(utc_now().timestamp() * 1000)
    for stream, items in by_stream.items():
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            reply = script(keys=[stream.stream, stream.seen], args=_args(stream, chunk, now_ms), client=client)
            _note(result, stream, reply, len(chunk))
        if stream.channel and result.written.get(stream.kind):
            client.publish(stream.channel, _announcement(result, stream))
    pipe = client.pipeline(transaction=False)
    _hot_only(pipe, prices, news, result)
    pipe.execute()
    return result


async def uw_events_write_async(*, client: redis.asyncio.Redis, events: Sequence[UWEvent]) -> UWWriteResult:
    """The same, on an asyncio client (the streamer's sink)."""
    script = client.register_script(APPEND_NEW)
    by_stream, prices, news = _plan(events)
    result = UWWriteResult()
    now_ms = int(utc_now().timestamp() * 1000)
    for stream, items in by_stream.items():
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            reply = await script(keys=[stream.stream, stream.seen], args=_args(stream, chunk, now_ms), client=client)
            _note(result, stream, reply, len(chunk))
        if stream.channel and result.written.get(stream.kind):
            await client.publish(stream.channel, _announcement(result, stream))
    if prices or news:
        pipe = client.pipeline(transaction=False)
        _hot_only(pipe, prices, news, result)
        await pipe.execute()
    return result


def _hot_only(pipe: Any, prices: list[UnderlyingPrice], news: list[NewsHeadline], result: UWWriteResult) -> None:
    for price in prices:
        pipe.xadd(keys.uw_price(price.ticker), {"d": uw_event_encode(price)}, maxlen=PRICE_MAXLEN, approximate=True)
    for headline in news:
        pipe.xadd(keys.UW_NEWS, {"d": uw_event_encode(headline)}, maxlen=NEWS_MAXLEN, approximate=True)
    result.prices += len(prices)
    result.headlines += len(news)
