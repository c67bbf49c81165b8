"""The relay's read on a Redis Cluster, where one XREAD cannot name streams of two slots.

The subscribed streams are split by slot (apps/core/cluster_routing.py); each part has one
blocking XREAD under way at a time, all parts at once (each on its node), and a read returns as
soon as one part has entries. A part still waiting stays under way for the next read: its
streams' positions cannot have moved meanwhile, since only its own reply moves them. So each
stream is still read in order, from the last id the relay delivered, by one read at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio

from apps.core.cluster_routing import by_slot
from apps.core.codec import text as _text

Reply = list[tuple[Any, list[tuple[Any, dict[bytes, bytes]]]]]


def _retrieve(task: asyncio.Task[Any]) -> None:
    # A read left behind (its symbols unsubscribed meanwhile) may fail unseen: not an error to log.
    if not task.cancelled():
        task.exception()


class SlotReads:
    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self._reads: dict[int, asyncio.Task[Any]] = {}

    async def read(self, streams: dict[str, str], *, count: int, block: int) -> Reply:
        """Entries after each stream's position, as one XREAD would return them; raises the
        error of a failed part (the positions stay, so the next read asks again)."""
        parts = by_slot(streams)
        for slot, part in parts.items():
            if slot not in self._reads:
                read: Any = self.client.xread(part, count=count, block=block)  # type: ignore[arg-type]
                task = asyncio.create_task(read)
                task.add_done_callback(_retrieve)
                self._reads[slot] = task
        await asyncio.wait([self._reads[slot] for slot in parts], return_when=asyncio.FIRST_COMPLETED)
        reply: Reply = []
        error: BaseException | None = None
        for slot, task in list(self._reads.items()):
            if not task.done():
                continue
            del self._reads[slot]
            if task.cancelled():
                continue
            if task.exception() is not None:
                error = error or task.exception()
                continue
            # A read issued before a symbol was dropped may bring its entries: not asked for now.
            reply.extend((key, entries) for key, entries in task.result() or [] if _text(key) in streams)
        if error is not None:
            raise error
        return reply
