"""The relay: per process and topic, one asyncio task reads the Redis streams of every symbol a
local client subscribed to (XREAD BLOCK from the last id read per stream), decodes each entry once
into one text frame, and hands that frame to each subscriber without waiting on any of them.

Why not channels_redis groups: group fan-out costs one Redis round trip per member and drops
messages at a few hundred members; here a thousand clients cost one read per batch.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from typing import Any, Protocol, cast

import redis
import redis.asyncio
import structlog

from apps.core.codec import text as _text
from apps.core.positions import StreamPosition
from apps.core.redis import get_async_hot_redis, is_cluster
from apps.monitoring import metrics
from apps.realtime.cluster_reads import SlotReads
from apps.realtime.topics import EntryId, Frame, Topic

log = structlog.get_logger(__name__)

# A read returns at once when data is there; the timeout only bounds how long a symbol added
# meanwhile waits before the next read includes its stream (its start id is fixed when it is added,
# so nothing written in between is missed).
BLOCK_MS = 100
READ_ENTRIES = 200
# With many clients the relay reads no more often than about this much time per subscriber: a
# read's entries cost one send (a socket write) per client, so reading at every write of a busy
# feed spends the process on sends of a few trades each, and the sends queue. 20 us a subscriber
# is a read at most every 0.4 ms for 20 clients and every 4 ms for 200 (measured, with 40 us and
# none, in docs/benchmarks.md "Tick to client"); never more than MAX_READ_INTERVAL.
READ_INTERVAL_PER_SUBSCRIBER = 20e-6
MAX_READ_INTERVAL = 0.02
MAX_BACKOFF_SECONDS = 5.0
Entries = list[tuple[Any, dict[bytes, bytes]]]


class Subscriber(Protocol):
    def deliver(self, frame: Frame) -> None:
        """Take a live frame; must not wait (the relay serves every other client meanwhile)."""


class Relay:
    def __init__(self, topic: Topic, *, client: redis.asyncio.Redis) -> None:
        self.topic = topic
        self.client = client
        self._subscribers: dict[str, set[Subscriber]] = {}
        # The last entry id read per symbol; a symbol is read while it is here.
        self._positions: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        # On a Redis Cluster the streams of different slots are read apart (cluster_reads.py).
        self._slot_reads = SlotReads(client) if is_cluster(client) else None

    async def add(self, *, subscriber: Subscriber, symbol: str) -> str:
        """Hand `subscriber` every entry of `symbol` after the returned entry id, from now on."""
        self._subscribers.setdefault(symbol, set()).add(subscriber)
        position = self._positions.get(symbol)
        if position is None:
            try:
                last = await self.client.xrevrange(self.topic.stream(symbol), count=1)
            except BaseException:
                self.remove(subscriber=subscriber, symbol=symbol)
                raise
            position = _text(last[0][0]) if last else "0-0"
            if subscriber in self._subscribers.get(symbol, ()):
                # Another subscriber may have started the stream during the await: keep its (older) start.
                position = self._positions.setdefault(symbol, position)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"relay:{self.topic.name}")
            self._task.add_done_callback(self._stopped)
        return position

    def remove(self, *, subscriber: Subscriber, symbol: str) -> None:
        subscribers = self._subscribers.get(symbol)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[symbol]
            self._positions.pop(symbol, None)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # A bug, not Redis: say so loudly; the next subscription starts a new reader.
            metrics.WS_RELAY_ERRORS.labels(self.topic.name).inc()
            log.error("realtime.relay_crashed", topic=self.topic.name, error=repr(task.exception()))

    def _read_interval(self) -> float:
        subscribers = sum(len(subscribers) for subscribers in self._subscribers.values())
        return min(MAX_READ_INTERVAL, subscribers * READ_INTERVAL_PER_SUBSCRIBER)

    async def _run(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while self._positions:
            started = loop.time()
            streams = {self.topic.stream(symbol): position for symbol, position in self._positions.items()}
            symbols = {self.topic.stream(symbol): symbol for symbol in self._positions}
            try:
                read: Awaitable[Any]
                if self._slot_reads is not None:
                    read = self._slot_reads.read(streams, count=READ_ENTRIES, block=BLOCK_MS)
                else:
                    read = self.client.xread(streams, count=READ_ENTRIES, block=BLOCK_MS)  # type: ignore[arg-type]
                reply = cast(list[tuple[Any, Entries]], await read)
            except (redis.RedisError, OSError) as error:
                # Redis restarts or the network blips: clients stay connected and the relay goes on
                # from the last id it read, so nothing is lost once Redis answers again.
                failures += 1
                metrics.WS_RELAY_ERRORS.labels(self.topic.name).inc()
                log.warning("realtime.relay_read_failed", topic=self.topic.name, error=str(error), failures=failures)
                await asyncio.sleep(min(MAX_BACKOFF_SECONDS, 0.1 * 2**failures))
                continue
            failures = 0
            for key, entries in reply or []:
                self._deliver(symbols[_text(key)], entries)
            if reply:
                pause = self._read_interval() - (loop.time() - started)
                if pause > 0:
                    await asyncio.sleep(pause)

    def _deliver(self, symbol: str, entries: Entries) -> None:
        position = self._positions.get(symbol)
        if position is None or not entries:
            return  # unsubscribed while the read was under way
        newest: EntryId = StreamPosition.parse(position).entry
        fresh = []
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            entry = StreamPosition.parse(entry_id).entry
            if entry > newest:  # else the symbol was dropped and added again during the read
                fresh.append((entry_id, fields))
                newest = entry
        metrics.WS_RELAY_ENTRIES.labels(self.topic.name).inc(len(fresh))
        # The entries that arrived together go out together: under load the relay reads less
        # often, finds more per read, and sends fewer, larger messages instead of falling behind.
        for frame in self.topic.frames(symbol, self.topic.pieces(symbol, fresh), live=True):
            for subscriber in tuple(self._subscribers.get(symbol, ())):
                subscriber.deliver(frame)
        if symbol in self._positions:  # a delivery may have dropped the last subscriber
            self._positions[symbol] = f"{newest[0]}-{newest[1]}"


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Relay]] = weakref.WeakKeyDictionary()


def relay_for(topic: Topic) -> Relay:
    """This process's relay of `topic` (one per event loop: each loop has its own Redis connections)."""
    relays = _relays.setdefault(asyncio.get_running_loop(), {})
    # Live and each replay's sandbox have a relay of their own: their streams never mix.
    name = topic.name if topic.keyspace.is_live else f"{topic.name}@{topic.keyspace.replay_id}"
    relay = relays.get(name)
    if relay is None:
        relay = relays[name] = Relay(topic, client=get_async_hot_redis())
    return relay
