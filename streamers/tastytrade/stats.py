"""tastytrade's Summary and Greeks: the parser keeps the latest of each per symbol
(`ParseContext.summaries` / `.greeks`); this writes them as each symbol's latest value every
`WRITE_EVERY_SECONDS` and at close (`streamers.pending_writes`, into
`apps.marketdata.services.vendor_stats`). Only the newest per symbol is written: an update that a
newer one replaced before the write is never stored, as the latest-value design means. A failed
write keeps its values for the next turn (newer ones win)."""

from __future__ import annotations

import redis
import structlog

from apps.marketdata.services.vendor_stats import vendor_stats_write
from streamers.pending_writes import PendingWriter
from streamers.tastytrade.parsing import ParseContext

log = structlog.get_logger(__name__)


class VendorStats(PendingWriter):
    def __init__(self, *, redis_url: str | None, context: ParseContext) -> None:
        super().__init__(redis_url=redis_url)
        self.context = context
        self.written = 0

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
