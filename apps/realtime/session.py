"""One WebSocket connection on one topic: its subscriptions, the replay of what it missed, and the
task that sends its frames.

Resuming without gap or duplicate: a subscription with `since` registers with the relay first and
holds the live frames that arrive while the history is read; once a history read reaches the end of
the stream, the held frames newer than the last replayed entry follow, and from then on live frames
go straight to the outbox. Held frames are bounded: when too many pile up they are dropped and the
history is read once more (they are all in the stream), so a long replay costs no memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import duckdb
import redis
import structlog

from apps.core.positions import StreamPosition
from apps.monitoring import metrics
from apps.realtime import protocol
from apps.realtime.lake_history import ResumeTooFarError, lake_history, lake_holds, resumes_from_lake
from apps.realtime.outbox import Outbox
from apps.realtime.protocol import MAX_SYMBOLS, ProtocolError, Subscribe, Unsubscribe, message_parse
from apps.realtime.relay import relay_for
from apps.realtime.replay import PositionExpiredError, hot_first_entry, hot_history
from apps.realtime.topics import EntryId, Frame, Topic

log = structlog.get_logger(__name__)

CLOSE_SLOW_CONSUMER = 4008
SLOW_CONSUMER_REASON = "slow consumer"
_NOTHING: EntryId = (-1, -1)


@dataclass(eq=False)
class Subscription:
    symbol: str
    # The newest entry sent (or known to the client): anything not newer is a duplicate.
    last: EntryId = _NOTHING
    replaying: bool = False
    held: list[Frame] = field(default_factory=list)
    held_lost: bool = False
    task: asyncio.Task[None] | None = None


class ClientSession:
    def __init__(
        self,
        *,
        topic: Topic,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        limit: int,
    ) -> None:
        self.topic = topic
        self.outbox = Outbox(topic=topic, limit=limit)
        self._send = send
        self._close = close
        self._relay = relay_for(topic)
        self._subscriptions: dict[str, Subscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self.closing = False
        self._ended = False
        self._messages = metrics.WS_MESSAGES_SENT.labels(topic.name)
        self._events = metrics.WS_EVENTS_SENT.labels(topic.name)
        self._latency = metrics.WS_SEND_LATENCY.labels(topic.name)
        self._end_to_end = metrics.WS_EXCHANGE_TO_SEND.labels(topic.name)
        self._subscribed = metrics.WS_SUBSCRIPTIONS.labels(topic.name)

    def start(self) -> None:
        metrics.WS_CLIENTS.labels(self.topic.name).inc()
        self._sender = asyncio.create_task(self._send_loop(), name=f"ws-send:{self.topic.name}")

    async def end(self) -> None:
        """The connection is gone: forget it everywhere and stop its tasks."""
        if self._ended:
            return
        self._ended = True
        self._detach()
        pending = [task for task in (self._sender, *self._tasks) if task is not None and not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        metrics.WS_CLIENTS.labels(self.topic.name).dec()

    async def handle(self, text: str | None) -> None:
        """One client message: act on it, or answer with an error frame."""
        if self.closing:
            return
        try:
            message = message_parse(topic=self.topic, text=text)
            if isinstance(message, Subscribe):
                await self._subscribe(message)
            else:
                await self._unsubscribe(message)
        except ProtocolError as error:
            metrics.WS_PROTOCOL_ERRORS.labels(self.topic.name).inc()
            await self.outbox.put(protocol.error(error.message))

    def deliver(self, frame: Frame) -> None:
        """A live frame from the relay; never waits."""
        subscription = self._subscriptions.get(frame.symbol or "")
        if subscription is None or self.closing:
            return
        if subscription.replaying:
            if len(subscription.held) >= max(1, self.outbox.limit // 2):
                subscription.held.clear()
                subscription.held_lost = True
            subscription.held.append(frame)
            return
        self._send_live(subscription, frame)

    # -- subscriptions -----------------------------------------------------------------------

    async def _subscribe(self, message: Subscribe) -> None:
        new = [symbol for symbol in message.symbols if symbol not in self._subscriptions]
        if len(self._subscriptions) + len(new) > MAX_SYMBOLS:
            raise ProtocolError(f"symbols: at most {MAX_SYMBOLS} per connection; {len(self._subscriptions)} already")
        # Register with the relay before anything else, holding live frames: everything written
        # after "subscribed" reaches the client, and the held frames follow the reply, not precede it.
        starts: list[tuple[Subscription, StreamPosition, bool]] = []
        for symbol in new:
            since = message.since.get(symbol)
            subscription = Subscription(symbol, replaying=True)
            if since is not None and since.index is None:
                subscription.last = since.entry
            self._subscriptions[symbol] = subscription
            self._subscribed.inc()
            try:
                start = await self._relay.add(subscriber=self, symbol=symbol)
            except (redis.RedisError, OSError) as error:
                self._drop(symbol)
                await self.outbox.put(
                    protocol.error(f"{symbol}: the hot store did not answer ({error}); subscribe again")
                )
                continue
            if self.closing:
                return
            if since is None:
                # Live from the relay's start: reading after it normally finds nothing, but it also
                # covers live frames the hold had to drop.
                since = StreamPosition(*StreamPosition.parse(start).entry)
                subscription.last = since.entry
                starts.append((subscription, since, False))
            else:
                starts.append((subscription, since, True))
        symbols = tuple(symbol for symbol in message.symbols if symbol in self._subscriptions)
        await self.outbox.put(protocol.subscribed(topic=self.topic, symbols=symbols))
        for subscription, position, resuming in starts:
            if self._subscriptions.get(subscription.symbol) is subscription:
                subscription.task = self._spawn(self._replay(subscription, position, check_kept=resuming))

    async def _unsubscribe(self, message: Unsubscribe) -> None:
        for symbol in message.symbols:
            self._drop(symbol)
        await self.outbox.put(protocol.unsubscribed(topic=self.topic, symbols=message.symbols))

    def _drop(self, symbol: str) -> None:
        subscription = self._subscriptions.pop(symbol, None)
        if subscription is None:
            return
        self._relay.remove(subscriber=self, symbol=symbol)
        self._subscribed.dec()
        if subscription.task is not None:
            subscription.task.cancel()

    def _detach(self) -> None:
        self.closing = True
        for symbol in list(self._subscriptions):
            self._drop(symbol)
        self.outbox.close()

    # -- replay ------------------------------------------------------------------------------

    async def _replay(self, subscription: Subscription, position: StreamPosition, *, check_kept: bool) -> None:
        # Live frames that overflowed the hold before a read began are in the stream that read sees.
        subscription.held_lost = False
        try:
            try:
                await self._replay_hot(subscription, position, check_kept=check_kept)
            except PositionExpiredError:
                covered = await self._replay_lake(subscription, position) if resumes_from_lake(self.topic) else None
                if covered is None:
                    await self.outbox.put(
                        protocol.position_expired(topic=self.topic, symbol=subscription.symbol, position=position)
                    )
                else:
                    await self._replay_hot(subscription, covered, check_kept=False)
        except ResumeTooFarError as error:
            await self.outbox.put(
                protocol.error(
                    f"{subscription.symbol}: {error}; use {self.topic.history} for older data (continuing live)"
                )
            )
        except (redis.RedisError, OSError, duckdb.Error) as error:
            await self.outbox.put(
                protocol.error(f"{subscription.symbol}: replay from {position} failed ({error}); continuing live")
            )
        self._go_live(subscription)

    async def _send_replayed(self, subscription: Subscription, frame: Frame) -> None:
        # Half the queue stays free for live frames of this connection's other symbols.
        await self.outbox.put(frame, keep_free=self.outbox.limit // 2)
        subscription.last = max(subscription.last, frame.entry)
        metrics.WS_REPLAYED.labels(self.topic.name).inc(frame.events)

    async def _replay_hot(self, subscription: Subscription, position: StreamPosition, *, check_kept: bool) -> None:
        reads = hot_history(
            client=self._relay.client,
            topic=self.topic,
            symbol=subscription.symbol,
            position=position,
            check_kept=check_kept,
        )
        try:
            async for read in reads:
                for frame in read.frames:
                    await self._send_replayed(subscription, frame)
                if read.at_end and not subscription.held_lost:
                    break
                subscription.held_lost = False
        finally:
            await reads.aclose()

    async def _replay_lake(self, subscription: Subscription, position: StreamPosition) -> StreamPosition | None:
        """Send what the lake holds after `position` up to the hot store's first entry; the
        position the hot store takes over from, or None when the lake no longer holds `position`.
        Trimming may move the first entry meanwhile: the lake then covers that stretch too."""
        if not await lake_holds(symbol=subscription.symbol, position=position):
            return None  # purged from the lake too: what follows it there would leave a silent gap
        covered: StreamPosition | None = None
        first = await hot_first_entry(client=self._relay.client, topic=self.topic, symbol=subscription.symbol)
        for _ in range(5):
            async for frames in lake_history(
                topic=self.topic, symbol=subscription.symbol, position=covered or position, hot_first=first
            ):
                for frame in frames:
                    await self._send_replayed(subscription, frame)
                    covered = StreamPosition(*frame.entry)
            now_first = await hot_first_entry(client=self._relay.client, topic=self.topic, symbol=subscription.symbol)
            if first is None or now_first is None or now_first <= first:
                break
            first = now_first
        # Nothing in the lake between the position and the hot store's first entry is nothing to
        # send, not an expiry: the position is the last thing before the boundary.
        return covered or position

    def _go_live(self, subscription: Subscription) -> None:
        held, subscription.held = subscription.held, []
        subscription.replaying = False
        for frame in held:
            if self.closing:
                return
            self._send_live(subscription, frame)

    # -- sending -----------------------------------------------------------------------------

    def _send_live(self, subscription: Subscription, frame: Frame) -> None:
        if frame.entry <= subscription.last:
            return
        if frame.first <= subscription.last:
            trimmed = self.topic.after(frame, subscription.last)
            if trimmed is None:
                return
            frame = trimmed
        subscription.last = frame.entry
        if not self.outbox.offer(frame):
            self._slow()

    def _slow(self) -> None:
        if self.closing:
            return
        self._detach()
        metrics.WS_SLOW_DISCONNECTS.labels(self.topic.name).inc()
        log.warning("realtime.slow_consumer", topic=self.topic.name, queued=len(self.outbox))
        self._closer = self._spawn(self._close_slow())

    async def _close_slow(self) -> None:
        # The sender may be stuck on a client that does not read: stop it, then close; the close
        # frame goes out once the client reads what is already on its way.
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
            await asyncio.wait([self._sender])
        try:
            await self._close(CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_REASON)
        except (OSError, RuntimeError):
            # Already gone, or the server closed it first (its close handshake timed out on
            # a client that never read): nothing left to tell it.
            return

    async def _send_loop(self) -> None:
        while True:
            frame = await self.outbox.get()
            try:
                await self._send(frame.text)
            except OSError:
                # The client went away: stop feeding it now; its disconnect ends the session.
                self._detach()
                return
            self._messages.inc()
            if frame.events:
                self._events.inc(frame.events)
            if frame.live:
                # From the frame's oldest entry: the slowest of the events it carries.
                now = time.time()
                self._latency.observe(max(0.0, now - frame.first[0] / 1000))
                if frame.exchange_ns:
                    # End to end: the exchange's clock to this send, every hop included.
                    self._end_to_end.observe(max(0.0, now - frame.exchange_ns / 1e9))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("realtime.session_task_failed", topic=self.topic.name, error=repr(task.exception()))
