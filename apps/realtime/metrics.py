"""Prometheus metrics of the WebSocket gateway, served with the web process's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CLIENTS = Gauge("pipeline_ws_clients", "Connected, authenticated WebSocket clients", ["topic"])
SUBSCRIPTIONS = Gauge("pipeline_ws_subscriptions", "Symbols subscribed, summed over clients", ["topic"])
MESSAGES_SENT = Counter("pipeline_ws_messages_sent_total", "Frames sent to clients (events and control)", ["topic"])
EVENTS_SENT = Counter("pipeline_ws_events_sent_total", "Events sent to clients, live and replayed", ["topic"])
REPLAYED = Counter("pipeline_ws_replayed_events_total", "Events sent from the hot store's history on resume", ["topic"])
SLOW_DISCONNECTS = Counter(
    "pipeline_ws_slow_disconnects_total", "Clients closed with 4008 because their queue was full", ["topic"]
)
CONFLATIONS = Counter(
    "pipeline_ws_conflations_total",
    "Frames a slow client skipped because a newer one of its symbol replaced them",
    ["topic"],
)
PROTOCOL_ERRORS = Counter("pipeline_ws_protocol_errors_total", "Client messages answered with an error", ["topic"])
RELAY_ENTRIES = Counter("pipeline_ws_relay_entries_total", "Stream entries the relay read and decoded", ["topic"])
RELAY_ERRORS = Counter("pipeline_ws_relay_errors_total", "Relay read failures and undecodable entries", ["topic"])
SEND_LATENCY = Histogram(
    "pipeline_ws_send_latency_seconds",
    "From the Redis write (the stream entry id's time) to handing the frame to the server, live frames",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
