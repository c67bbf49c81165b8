"""Where each UW event kind lives in the hot store: its stream, its dedup set, its notification
channel, and how long an id is remembered to refuse a duplicate.

The alert engine and the flush read the streams (`d` holds the event as JSON,
`apps.uw.events.uw_event_decode`); the pub/sub channels only announce a batch
(`{"count", "last_id"}`), for outside subscribers, and are never the source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.core import keys


@dataclass(frozen=True)
class UWStream:
    kind: str  # also the retention category of its lake table
    stream: str
    seen: str
    channel: str | None
    # Ids are remembered this long (by the event's arrival) to refuse a repeat. Trades run to
    # millions a day, and their repeats come from a reconnect or a back-fill minutes later:
    # an hour is plenty and bounded. Alerts and aggregates are few: a week and two days.
    dedup_seconds: int
    lake_table: str


OPTION_TRADES = UWStream(
    kind="option_trade",
    stream=keys.UW_OPTION_TRADES,
    seen=keys.uw_seen("option_trade"),
    channel=keys.UW_OPTION_TRADE_CHANNEL,
    dedup_seconds=3600,
    lake_table="uw_option_trades",
)
FLOW_ALERTS = UWStream(
    kind="flow_alert",
    stream=keys.UW_FLOW_ALERTS,
    seen=keys.uw_seen("flow_alert"),
    channel=None,
    dedup_seconds=7 * 86_400,
    lake_table="uw_flow_alerts",
)
MARKET_AGGS = UWStream(
    kind="market_agg",
    stream=keys.UW_MARKET_AGGS,
    seen=keys.uw_seen("market_agg"),
    channel=keys.UW_MARKET_AGG_CHANNEL,
    dedup_seconds=2 * 86_400,
    lake_table="uw_market_agg",
)
UW_STREAMS = (OPTION_TRADES, FLOW_ALERTS, MARKET_AGGS)

# Hot only (no lake table): capped by length.
PRICE_MAXLEN = 20_000
NEWS_MAXLEN = 10_000
