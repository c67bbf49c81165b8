"""tastytrade's Summary and Greeks: the parser keeps the latest of each per symbol
(`ParseContext.summaries` / `.greeks`); this writes them as each symbol's latest value every
`WRITE_EVERY_SECONDS` and at close (`apps.marketdata.services.vendor_stats`). Only the newest per
symbol is written: an update that a newer one replaced before the write is never stored, as
the latest-value design means. A failed write keeps its values for the next turn (newer ones win)."""

from __future__ import annotations

import asyncio
import contextlib

import redis
import redis.asyncio
import structlog

from apps.marketdata.services.vendor_stats import vendor_stats_write
from streamers.tastytrade.parsing import ParseContext

log = structlog.get_logger(__name__)

WRITE_EVERY_SECONDS = 0.2


class VendorStats:
    def __init__(self, *, redis_url: str | None, context: ParseContext) -> None:
        self.redis_url = redis_url
        self.context = context
        self._redis: redis.asyncio.Redis | None = None
        self.written = 0

    def _client(self) -> redis.asyncio.Redis:
        # Made on first use, inside the running event loop (no I/O in the constructor).
        if self._redis is None:
            if self.redis_url is None:
                from django.conf import settings

                self.redis_url = settings.REDIS_URL
            self._redis = redis.asyncio.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        return self._redis

    async def write_pending(self) -> None:
        context = self.context
        if not context.summaries and not context.greeks:
            return
        summaries, context.summaries = context.summaries, {}
        greeks, context.greeks = context.greeks, {}
        try:
            self.written += await vendor_stats_write(
                client=self._client(), summaries=summaries.values(), greeks=greeks.values()
            )
        except redis.RedisError as error:
            # Kept for the next turn, under anything newer parsed meanwhile.
            context.summaries = summaries | context.summaries
            context.greeks = greeks | context.greeks
            log.warning("tastytrade.stats_write_failed", error=str(error))

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
