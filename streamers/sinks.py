"""Where a streamer's batches go. The runner buffers and batches; a sink takes one batch at a
time and says what it wrote and what it refused (`WriteResult`).

The default is the hot store (per-symbol Redis streams and the last-value hash); another sink
(a test's, a second store) plugs in with `StreamerRunner(..., sink=...)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from apps.core import keys
from apps.core.redis import get_async_hot_redis
from apps.marketdata.events import Event
from apps.marketdata.services.streams import HotStoreWriter, WriteResult


class EventSink(Protocol):
    async def write(self, events: Sequence[Event]) -> WriteResult:
        """Write one batch, in order. Raise `redis.RedisError` (or any ConnectionError) when the
        store cannot be reached: the runner keeps the batch and tries again. Events the store
        itself refuses go in `WriteResult.rejected`, with the reason, and are spilled to disk."""

    async def close(self) -> None:
        """Write out anything the sink holds and release it; the runner calls it once, last."""


class HotStoreSink:
    """The hot-store writer on a Redis connection of its own. `WriteResult.last_ids` names the
    streams written, which the runner trims to their hot-retention window."""

    def __init__(
        self,
        *,
        redis_url: str,
        feed: str,
        keyspace: keys.KeySpace = keys.LIVE,
        expire_seconds: int | None = None,
    ) -> None:
        # No I/O here: redis-py connects on the first command, inside the runner's event loop. The
        # hot store is `redis_url`, or the Redis Cluster of REDIS_CLUSTER_URLS when that is set.
        self.client = get_async_hot_redis(
            redis_url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=0
        )
        self.writer = HotStoreWriter(self.client, feed=feed, keyspace=keyspace, expire_seconds=expire_seconds)

    async def write(self, events: Sequence[Event]) -> WriteResult:
        return await self.writer.write(events)

    async def close(self) -> None:
        await self.client.aclose()
