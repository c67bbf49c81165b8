"""Resuming from a position the hot store no longer holds: what was flushed to the lake after it.

Only the trades topic resumes from the lake: trades are complete or nothing (a client that fell
behind is closed and resumes), while depth and GEX are states, for which the newest is enough.
The lake keeps every row's hot-store position (`stream_id`), so the rows come back as the same
events with the same ids, grouped by the entry they were written in, and the resume goes on in
the hot store after the last entry the lake gave.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from itertools import groupby

from django.conf import settings

from apps.core.positions import StreamPosition
from apps.marketdata.selectors import StoredTrade
from apps.realtime.topics import EntryId, Frame, Topic, piece_of, trade_event
from apps.storage.trade_queries import lake_trades_after, lake_trades_after_count, lake_trades_entry_exists

PAGE_TRADES = 20_000


class ResumeTooFarError(Exception):
    """The lake holds more after the position than a resume sends."""


def resumes_from_lake(topic: Topic) -> bool:
    # A replay's sandbox has no lake: what its hot streams no longer hold is gone.
    return topic.name == "trades" and topic.keyspace.is_live


async def lake_holds(*, symbol: str, position: StreamPosition) -> bool:
    """Whether the lake still holds the entry of `position`. Every entry the hot store trimmed
    was flushed first, and retention purges the oldest days first: if the client's own entry is
    there, so is everything after it; if not, a resume from the lake would skip what was purged."""
    return await asyncio.to_thread(lake_trades_entry_exists, symbol=symbol, entry=position.entry)


def _frames(topic: Topic, symbol: str, trades: list[StoredTrade]) -> list[Frame]:
    pieces = [
        piece_of(entry, [trade_event(item.id, item.trade) for item in rows])
        for entry, rows in groupby(trades, key=lambda item: item.id.rpartition(":")[0])
    ]
    return topic.frames(symbol, pieces, live=False)


async def lake_history(
    *, topic: Topic, symbol: str, position: StreamPosition, hot_first: EntryId | None
) -> AsyncGenerator[list[Frame], None]:
    """Frames of the lake's trades after `position` and before the hot store's first entry
    `hot_first`, a page at a time (DuckDB on a worker thread). Raises ResumeTooFarError before
    sending anything when there are more than REALTIME_RESUME_MAX_TRADES."""
    # Further behind than this, a client wants a download (/api/ticks), not a replay over its socket.
    most = settings.REALTIME_RESUME_MAX_TRADES
    count = await asyncio.to_thread(lake_trades_after_count, symbol=symbol, after=position, before_entry=hot_first)
    if count > most:
        raise ResumeTooFarError(f"{count:,} trades after {position}, more than a resume sends ({most:,})")
    after = position
    while True:
        # The page's frames are built on the thread too: JSON for 20,000 trades would hold up
        # the event loop, and every other client with it, for tens of milliseconds.
        page, frames = await asyncio.to_thread(_page, topic, symbol, after, hot_first)
        if not page:
            return
        yield frames
        after = StreamPosition.parse(page[-1].id)


def _page(
    topic: Topic, symbol: str, after: StreamPosition, hot_first: EntryId | None
) -> tuple[list[StoredTrade], list[Frame]]:
    page = lake_trades_after(symbol=symbol, after=after, before_entry=hot_first, limit=PAGE_TRADES)
    return page, _frames(topic, symbol, page)
