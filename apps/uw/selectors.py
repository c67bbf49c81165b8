"""Reads of the UW streams: the events after a stream position, and the latest flow alert.

A consumer that must act once per event (the alert engine) reads the same streams through
`apps.storage.consumer.ExactlyOnceReader` and decodes each entry's `d` with
`apps.uw.events.uw_event_decode`; these selectors are for looking, not consuming.
"""

from __future__ import annotations

from typing import Any

import redis

from apps.uw.events import FlowAlert, MarketAgg, OptionTrade, UWEvent, flow_alert_decode, uw_event_decode
from apps.uw.streams import FLOW_ALERTS, MARKET_AGGS, OPTION_TRADES, UWStream


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(raw: Any) -> list[tuple[str, UWEvent]]:
    return [(_text(entry_id), uw_event_decode(fields[b"d"])) for entry_id, fields in raw]


def uw_events_after(
    *, client: redis.Redis, stream: UWStream, after: str = "0-0", count: int = 1000
) -> list[tuple[str, UWEvent]]:
    """(entry id, event) of `stream` after the entry id `after`, oldest first."""
    return _entries(client.xrange(stream.stream, min=f"({after}" if after != "0-0" else "-", count=count))


def option_trades_after(*, client: redis.Redis, after: str = "0-0", count: int = 1000) -> list[tuple[str, OptionTrade]]:
    return uw_events_after(client=client, stream=OPTION_TRADES, after=after, count=count)  # type: ignore[return-value]


def flow_alerts_after(*, client: redis.Redis, after: str = "0-0", count: int = 1000) -> list[tuple[str, FlowAlert]]:
    return uw_events_after(client=client, stream=FLOW_ALERTS, after=after, count=count)  # type: ignore[return-value]


def market_aggs_after(*, client: redis.Redis, after: str = "0-0", count: int = 1000) -> list[tuple[str, MarketAgg]]:
    return uw_events_after(client=client, stream=MARKET_AGGS, after=after, count=count)  # type: ignore[return-value]


def uw_events_latest(*, client: redis.Redis, stream: UWStream, count: int = 100) -> list[tuple[str, UWEvent]]:
    """The newest `count` events of `stream`, newest first."""
    return _entries(client.xrevrange(stream.stream, count=count))


def flow_alert_newest_time_ms(*, client: redis.Redis) -> int | None:
    """UW's `executed_at` (ms) of the newest flow alert stored, or None: where a back-fill after a
    gap starts (`newer_than`). The newest by time, not the last appended: a back-fill appends
    older alerts after newer ones."""
    newest = None
    entries: Any = client.xrevrange(FLOW_ALERTS.stream, count=200)
    for _, fields in entries:
        alert = flow_alert_decode(fields[b"d"])
        newest = alert.executed_at if newest is None else max(newest, alert.executed_at)
    return newest
