"""The market tide from UW's REST endpoint into `uw:market_agg` (beat runs it every minute).

Each poll asks for the whole day; only rows whose minute has closed are stored (the current
minute's row still changes), and the hot store keeps each interval once (its id), so polling
again stores only the minutes that closed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
import structlog

from apps.core.clock import EXCHANGE_TZ
from apps.uw.events import MarketAgg
from apps.uw.parsing import PayloadError, market_tide_parse
from apps.uw.rest import UWRestClient
from apps.uw.services.dead_letters import uw_dead_letter
from apps.uw.services.hot_store import uw_events_write

log = structlog.get_logger(__name__)
NS_PER_MINUTE = 60 * 1_000_000_000


@dataclass(frozen=True)
class MarketTidePoll:
    rows: int
    stored: int
    open_minute_skipped: int
    refused: int


def market_tide_poll(*, rest: UWRestClient, client: redis.Redis, now: datetime, otm_only: bool) -> MarketTidePoll:
    """Fetch today's market tide (the New York trading day of `now`) and store the closed minutes."""
    day = now.astimezone(EXCHANGE_TZ).date()
    now_ns = int(now.timestamp() * 1_000_000_000)
    ts_recv = now_ns
    closed: list[MarketAgg] = []
    open_rows = refused = 0
    rows = rest.market_tide(day=day, otm_only=otm_only)
    for index, raw in enumerate(rows):
        try:
            agg = market_tide_parse(raw, ts_recv=ts_recv, otm_only=otm_only)
        except PayloadError as error:
            refused += 1
            uw_dead_letter(
                client=client,
                kind=error.kind,
                reason=error.reason,
                location=f"data[{index}]{error.location[1:]}",
                raw=raw,
            )
            continue
        if agg.ts_event + NS_PER_MINUTE > now_ns:
            open_rows += 1
            continue
        closed.append(agg)
    written = uw_events_write(client=client, events=closed)
    result = MarketTidePoll(
        rows=len(rows), stored=written.written.get("market_agg", 0), open_minute_skipped=open_rows, refused=refused
    )
    log.info("uw.market_tide", day=day.isoformat(), **result.__dict__)
    return result
