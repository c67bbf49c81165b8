"""Schwab's own minute bars: CHART_FUTURES rows as they stream, and after a reconnect the minutes
of the disconnection back-filled from the price-history endpoint. Both go to the vendor-bar set
of each symbol (`apps.marketdata.services.vendor_bars`), where a minute written again replaces itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import redis
import structlog

from apps.marketdata.services.vendor_bars import VendorBarRecord, VendorBarWrite, vendor_bars_write
from apps.monitoring import metrics
from streamers.pending_writes import PendingWriter
from streamers.schwab import oauth
from streamers.schwab.parsing import VendorBar
from streamers.schwab.rest import SchwabRest, SchwabRestError

log = structlog.get_logger(__name__)

BACKFILL_ATTEMPTS = 3


class VendorBars(PendingWriter):
    def __init__(self, *, redis_url: str, feed: str, rest: SchwabRest) -> None:
        super().__init__(redis_url=redis_url)
        self.feed = feed
        self.rest = rest
        self._pending: list[VendorBar] = []
        self.backfills = 0
        self.backfilled_bars = 0

    def add(self, bars: Sequence[VendorBar]) -> None:
        self._pending.extend(bars)

    async def write(self, bars: Sequence[VendorBar]) -> None:
        await vendor_bars_write(
            client=self._client(),
            feed=self.feed,
            bars=[
                VendorBarWrite(
                    bar.symbol, VendorBarRecord(bar.start_ms, bar.open, bar.high, bar.low, bar.close, bar.volume)
                )
                for bar in bars
            ],
        )

    async def write_pending(self) -> None:
        if not self._pending:
            return
        bars, self._pending = self._pending, []
        try:
            await self.write(bars)
        except redis.RedisError as error:
            self._pending = bars + self._pending  # kept for the next turn
            log.warning("schwab.bars_write_failed", error=str(error))

    async def backfill(self, *, since_ms: int, futures: dict[str, str]) -> None:
        """The minute bars from the minute of the last data seen until now, for each future
        (Schwab key -> canonical symbol). A 429 waits out Retry-After; three tries per symbol."""
        start_ms = since_ms - since_ms % 60_000
        end_ms = int(time.time() * 1000)
        for key, symbol in futures.items():
            for attempt in range(1, BACKFILL_ATTEMPTS + 1):
                try:
                    bars = await asyncio.to_thread(
                        self.rest.minute_bars, key=key, symbol=symbol, start_ms=start_ms, end_ms=end_ms
                    )
                    await self.write(bars)
                except oauth.SchwabRateLimitedError as error:
                    await asyncio.sleep(min(error.retry_after, 30.0))
                    continue
                except (SchwabRestError, ConnectionError, redis.RedisError) as error:
                    log.warning("schwab.backfill_failed", symbol=symbol, attempt=attempt, error=str(error))
                    await asyncio.sleep(attempt)
                    continue
                self.backfilled_bars += len(bars)
                metrics.SCHWAB_BACKFILLED_BARS.inc(len(bars))
                log.info("schwab.backfilled", symbol=symbol, bars=len(bars), start_ms=start_ms, end_ms=end_ms)
                break
        self.backfills += 1
