"""Where the UW streamer's batches go: UW events to the UW streams (`apps.uw`), UW's gamma
exposure to the GEX app's snapshots (`apps.gex`), as a second source beside GEXBot.

Strike rows (`gex_strike:<T>`) come one strike per message; the rows of one ticker, category and
timestamp are held until a later timestamp of that ticker arrives (or the streamer stops), then
recorded as one snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio

from apps.core.redis import get_redis
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot
from apps.gex.uw_exposure import UWStrikeExposure, uw_strikes_snapshot
from apps.marketdata.services.streams import WriteResult
from apps.uw.events import UWEvent
from apps.uw.services.hot_store import uw_events_write_async
from streamers.uw.framing import UWMessage


@dataclass
class UWSinkResult(WriteResult):
    """A batch's outcome in the runner's terms: `last_ids` (trimmed by retention) and `events`."""

    uw_events: int = 0
    duplicates: int = 0
    snapshots: int = 0

    @property
    def events(self) -> int:
        return self.uw_events + self.snapshots


class UWSink:
    def __init__(self, *, redis_url: str) -> None:
        # No I/O here: redis-py connects on the first command, inside the runner's event loop.
        self.redis_url = redis_url
        self.client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5)
        # (ticker, category) -> the rows of its newest timestamp, not recorded yet.
        self._strikes: dict[tuple[str, str], list[UWStrikeExposure]] = {}

    async def write(self, events: Sequence[UWMessage]) -> UWSinkResult:
        uw: list[UWEvent] = []
        snapshots: list[GEXSnapshot] = []
        for event in events:
            if isinstance(event, GEXSnapshot):
                snapshots.append(event)
            elif isinstance(event, UWStrikeExposure):
                snapshots += self._collect(event)
            else:
                uw.append(event)
        written = await uw_events_write_async(client=self.client, events=uw)
        recorded = await asyncio.to_thread(self._record, snapshots) if snapshots else 0
        return UWSinkResult(
            last_ids=written.last_ids, uw_events=written.events, duplicates=written.duplicates, snapshots=recorded
        )

    def _collect(self, row: UWStrikeExposure) -> list[GEXSnapshot]:
        key = (row.ticker, row.category)
        held = self._strikes.get(key)
        if held and held[0].timestamp == row.timestamp:
            held.append(row)
            return []
        self._strikes[key] = [row]
        if held and held[0].timestamp < row.timestamp:
            return [uw_strikes_snapshot(held)]
        return []  # a late row of an older timestamp: that snapshot is already recorded

    def _record(self, snapshots: list[GEXSnapshot]) -> int:
        client = get_redis(self.redis_url)
        return sum(1 for snapshot in snapshots if snapshot_record(snapshot=snapshot, client=client) is not None)

    async def close(self) -> None:
        held = [uw_strikes_snapshot(rows) for rows in self._strikes.values() if rows]
        self._strikes.clear()
        try:
            if held:
                await asyncio.to_thread(self._record, held)
        finally:
            await self.client.aclose()
