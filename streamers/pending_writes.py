"""Values a streamer's client gathers beside its events (a vendor's own bars, summaries, greeks),
written to Redis every `WRITE_EVERY_SECONDS` and once more at close. A subclass holds what is
pending and says how to write it (`write_pending`, which keeps a failed write's values for the
next turn); this holds the Redis client, made on first use inside the running event loop (no I/O
in a constructor), the periodic loop and the close."""

from __future__ import annotations

import abc
import asyncio
import contextlib

import redis
import redis.asyncio

WRITE_EVERY_SECONDS = 0.2


class PendingWriter(abc.ABC):
    def __init__(self, *, redis_url: str | None) -> None:
        self.redis_url = redis_url  # None: the platform's REDIS_URL, read at first use
        self._redis: redis.asyncio.Redis | None = None

    def _client(self) -> redis.asyncio.Redis:
        if self._redis is None:
            if self.redis_url is None:
                from django.conf import settings

                self.redis_url = settings.REDIS_URL
            self._redis = redis.asyncio.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        return self._redis

    @abc.abstractmethod
    async def write_pending(self) -> None:
        """Write what is pending; on a Redis error keep it for the next turn and log."""

    async def write_periodically(self) -> None:
        while True:
            await asyncio.sleep(WRITE_EVERY_SECONDS)
            await self.write_pending()

    async def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            await self.write_pending()
        if self._redis is not None:
            client, self._redis = self._redis, None
            with contextlib.suppress(Exception):
                await client.aclose()
