"""Prometheus metrics of a streamer process, served on its own port (`--metrics-port`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTED = Gauge("pipeline_streamer_connected", "1 while the feed is connected", ["feed"])
MESSAGES = Counter("pipeline_streamer_messages_total", "Raw messages received", ["feed"])
EVENTS = Counter("pipeline_streamer_events_written_total", "Events written to Redis", ["feed", "kind"])
DEAD_LETTERS = Counter(
    "pipeline_streamer_dead_letters_total", "Messages parked in the dead-letter stream", ["feed", "kind"]
)
RECONNECTS = Counter("pipeline_streamer_reconnects_total", "Reconnections after a drop or a silent feed", ["feed"])
GAPS = Counter("pipeline_streamer_gaps_total", "Gap events recorded", ["feed"])
LATENCY = Histogram(
    "pipeline_streamer_latency_seconds",
    "Exchange time to Redis write, per event",
    ["feed"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SECONDS = Histogram("pipeline_streamer_batch_write_seconds", "Time to write one batch to Redis", ["feed"])
WRITE_ERRORS = Counter(
    "pipeline_streamer_write_errors_total", "Batches that could not be encoded and were spilled to disk", ["feed"]
)
STORE_UP = Gauge(
    "pipeline_streamer_store_up", "1 while the hot store takes the streamer's writes, 0 while it buffers", ["feed"]
)
STORE_OUTAGES = Counter(
    "pipeline_streamer_store_outages_total", "Outages of the hot store that ended (the streamer buffered)", ["feed"]
)
STORE_OUTAGE_SECONDS = Counter(
    "pipeline_streamer_store_outage_seconds_total", "Time the hot store refused the streamer's writes", ["feed"]
)
# Broker feeds (issue 14): what the vendor sent, by its own message and event types, and how long
# the feed's tokens have left (label `token`: access, refresh, quote).
MESSAGES_BY_TYPE = Counter(
    "pipeline_streamer_messages_by_type_total", "Raw messages received, by the vendor's message type", ["feed", "type"]
)
VENDOR_EVENTS = Counter(
    "pipeline_streamer_vendor_events_total",
    "Events in the vendor's data messages, by the vendor's event type",
    ["feed", "type"],
)
TOKEN_SECONDS_LEFT = Gauge(
    "pipeline_streamer_token_seconds_left", "Seconds until the feed's token expires", ["feed", "token"]
)
