"""One connection's bounded queue of frames not yet sent.

The relay hands frames over with `offer`, which never waits: a full queue either refuses the frame
(trades: the connection is then closed as a slow consumer) or keeps only the newest frame per symbol
(depth, gex, sc) and tells the client how much it skipped. Replay and control messages use `put`,
which waits for room, so a resuming client is fed as fast as it reads and no faster.

A client that falls behind gets fewer, larger messages, not a growing queue: `get` hands over the
live frames of one symbol queued back to back as one frame (up to the topic's frame limits). An
idle client gets each frame as it comes; one whose socket is slower than the feed catches up,
since each send then carries everything queued meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from apps.monitoring import metrics
from apps.realtime.protocol import control
from apps.realtime.topics import MAX_FRAME_BYTES, MAX_FRAME_EVENTS, Frame, Overflow, Topic, entry_id_text


@dataclass
class _Conflated:
    latest: Frame
    skipped_entries: int = 0
    skipped_events: int = 0
    first_skipped: str | None = None
    last_skipped: str | None = None


class Outbox:
    def __init__(self, *, topic: Topic, limit: int) -> None:
        if limit < 2:
            raise ValueError(f"REALTIME_QUEUE_FRAMES must be at least 2, got {limit}")
        self.topic = topic
        self.limit = limit
        self._frames: deque[Frame] = deque()
        # Symbols whose newest frame waits here because the queue was full, in arrival order; while
        # a symbol is here its later frames replace this one, so its frames never overtake each other.
        self._conflated: dict[str, _Conflated] = {}
        self._ready: deque[Frame] = deque()
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._frames) + len(self._conflated) + len(self._ready)

    def close(self) -> None:
        """Nobody will send any more: drop what is queued, and release whoever waits to put."""
        self._closed = True
        self._frames.clear()
        self._conflated.clear()
        self._ready.clear()
        self._room.set()

    def offer(self, frame: Frame) -> bool:
        """Queue a live frame without waiting; False when the queue is full and the topic does
        not conflate (the caller disconnects the client)."""
        if self._closed:
            return True
        symbol = frame.symbol
        waiting = self._conflated.get(symbol) if symbol is not None else None
        if waiting is not None:
            waiting.first_skipped = waiting.first_skipped or entry_id_text(waiting.latest.first)
            waiting.last_skipped = entry_id_text(waiting.latest.entry)
            waiting.skipped_entries += max(1, len(waiting.latest.pieces))
            waiting.skipped_events += waiting.latest.events
            waiting.latest = frame
            metrics.WS_CONFLATIONS.labels(self.topic.name).inc()
        elif len(self._frames) < self.limit:
            self._frames.append(frame)
        elif self.topic.overflow is Overflow.DISCONNECT or symbol is None:
            return False
        else:
            self._conflated[symbol] = _Conflated(frame)
        self._wakeup.set()
        return True

    async def put(self, frame: Frame, *, keep_free: int = 0) -> None:
        """Queue a frame once fewer than `limit - keep_free` wait (replay leaves room for live frames)."""
        while len(self._frames) >= self.limit - keep_free and not self._closed:
            self._room.clear()
            await self._room.wait()
        if self._closed:
            return
        self._frames.append(frame)
        self._wakeup.set()

    def _merged(self, frame: Frame) -> Frame:
        """`frame` with the live frames of its symbol queued right behind it, as one frame."""
        queued = self._frames
        if not (frame.live and frame.pieces and queued) or frame.symbol is None:
            return frame
        pieces = list(frame.pieces)
        events, size = frame.events, len(frame.text)
        while queued:
            following = queued[0]
            if not (following.live and following.pieces and following.symbol == frame.symbol):
                break
            if events + following.events > MAX_FRAME_EVENTS or size + len(following.text) > MAX_FRAME_BYTES:
                break
            queued.popleft()
            pieces += following.pieces
            events += following.events
            size += len(following.text)
        if len(pieces) == len(frame.pieces):
            return frame
        metrics.WS_MERGED_FRAMES.labels(self.topic.name).inc()
        return self.topic.frames(frame.symbol, pieces, live=True)[0]

    async def get(self) -> Frame:
        while True:
            if self._ready:
                return self._ready.popleft()
            if self._frames:
                frame = self._merged(self._frames.popleft())
                self._room.set()
                return frame
            if self._conflated:
                # Only once the queue is empty: everything queued for a symbol is older than its
                # conflated frame.
                symbol = next(iter(self._conflated))
                waiting = self._conflated.pop(symbol)
                if waiting.skipped_entries:
                    self._ready.append(waiting.latest)
                    return control(
                        {
                            "type": "conflated",
                            "topic": self.topic.name,
                            "symbol": symbol,
                            "skipped": waiting.skipped_entries,  # stream entries (writes)
                            "skipped_events": waiting.skipped_events,
                            "first_skipped": waiting.first_skipped,
                            "last_skipped": waiting.last_skipped,
                            "reason": "slow consumer: only the newest frame of this symbol follows",
                        }
                    )
                return waiting.latest
            self._wakeup.clear()
            await self._wakeup.wait()
