"""Reading a topic's hot stream after a client's last position, for a client that resumes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, cast

import redis
import redis.asyncio

from apps.core.codec import text as _text
from apps.core.positions import StreamPosition
from apps.realtime.topics import EntryId, Frame, Topic

READ_ENTRIES = 100


class PositionExpiredError(Exception):
    """Entries after the client's position have been trimmed from the hot store."""


@dataclass(frozen=True)
class HistoryRead:
    frames: list[Frame]
    # The read found the end of the stream as it stood when Redis ran it.
    at_end: bool


async def _check_kept(client: redis.asyncio.Redis, key: str, position: StreamPosition) -> None:
    try:
        info = await client.xinfo_stream(key)
    except redis.ResponseError:
        return  # no such stream: nothing was ever written after the position
    added = info.get("entries-added")  # Redis >= 7
    if added is not None and int(added) == int(info["length"]):
        return  # nothing was ever trimmed or deleted
    first = info.get("first-entry")
    if first and StreamPosition.parse(_text(first[0])).entry > position.entry:
        raise PositionExpiredError(str(position))  # trimmed past the position
    deleted = info.get("max-deleted-entry-id")
    if deleted is not None and StreamPosition.parse(_text(deleted)).entry > position.entry:
        raise PositionExpiredError(str(position))  # an entry after the position was deleted


async def hot_history(
    *, client: redis.asyncio.Redis, topic: Topic, symbol: str, position: StreamPosition, check_kept: bool = True
) -> AsyncGenerator[HistoryRead, None]:
    """Frames of the entries after `position` (the rest of its own entry first), one read at a time.

    With `check_kept`, raises PositionExpiredError before yielding when the hot store no longer
    holds everything after `position`. Iteration goes on past the end for as long as the caller
    asks (new entries keep arriving), so the caller decides when it has caught up."""
    key = topic.stream(symbol)
    if check_kept:
        await _check_kept(client, key, position)
    start = position.entry_text
    low = start if position.index is not None else f"({start}"
    while True:
        entries = cast(
            list[tuple[Any, dict[bytes, bytes]]], await client.xrange(key, min=low, max="+", count=READ_ENTRIES)
        )
        skip = (start, position.index) if position.index is not None else None
        pieces = topic.pieces(symbol, [(_text(entry_id), fields) for entry_id, fields in entries], skip=skip)
        frames = topic.frames(symbol, pieces, live=False)
        if entries:
            low = f"({_text(entries[-1][0])}"
        yield HistoryRead(frames, at_end=len(entries) < READ_ENTRIES)


async def hot_first_entry(*, client: redis.asyncio.Redis, topic: Topic, symbol: str) -> EntryId | None:
    """The oldest entry the hot store still holds for `symbol`, or None for an empty stream."""
    first = cast(list[tuple[Any, Any]], await client.xrange(topic.stream(symbol), count=1))
    return StreamPosition.parse(_text(first[0][0])).entry if first else None
