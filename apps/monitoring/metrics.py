"""Every Prometheus series of the platform, defined here once: processes import their metrics from
this module instead of defining their own, so two apps never define the same series.

Two kinds live here:
- instruments (Counter, Gauge, Histogram) a process updates as things happen, registered in the
  process's default registry on import;
- scraped series (`Scraped`), which a collector computes at scrape time from shared state (Redis,
  the lake): work done in Celery workers or read from the hot store reaches Prometheus that way,
  through the web's /metrics (apps/monitoring/collectors.py).

Labels are bounded: every label name is one of LABELS, each fed from configuration or a closed
list (feeds from the streamer registry, symbols from the configured lists, tasks from the
registered task names, outcomes from enums), never from user input. `tests/apps/monitoring/
test_metrics.py` checks that no name is defined twice, that no module outside this one defines a
metric, and that every label is one of LABELS.

This module imports nothing of ours, so every layer (streamers included) may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

# Each label name and where its values come from (all finite, none from a request).
LABELS: dict[str, str] = {
    "feed": "a streamer name of streamers/registry.py",
    "kind": "an event kind of the feed's parser (trade, quote, depth, gap, ...) or a dead-letter reason kind",
    "topic": "a WebSocket topic of apps/realtime/topics.py",
    "reason": "a fixed reason string of the code that counts",
    "endpoint": "a GEXBot endpoint name of apps/gex/gexbot.py",
    "status": "an HTTP status code or 'error'",
    "ticker": "a GEX ticker of the configured poll list",
    "category": "a GEX category of apps/gex/snapshots.py CATEGORIES",
    "outcome": "an Outcome enum member",
    "table": "a registered lake table name",
    "symbol": "a symbol of a hot stream, written by a streamer of the configured symbol list",
    "group": "a consumer group name of apps/core/keys.py",
    "source": "a dead-letter source (a streamer name or a fixed consumer name) or a GEX source (gexbot, simulated)",
    "day": "a UTC day of a lake partition (bounded by the retention window)",
    "queue": "a Celery queue of apps/core/queues.py",
    "task": "a registered Celery task name ('other' for anything else)",
    "state": "a Celery task state (succeeded, failed, retried)",
    "check": "a health check name of the registry in apps/monitoring/registry.py",
    "credential": "a broker or feed credential kind (access, refresh, quote)",
    "decision": "a trading decision of the trading app's closed list",
    "action": "an alert action kind (discord, webhook, ...) of the alerts app",
    "breaker": "a circuit breaker name of the code",
    "type": "a message or event type of the vendor's protocol (DXLink, Schwab), cut to 32 characters",
    "provider": "a broker of apps/brokers (schwab, tastytrade)",
    "account": "a broker account configured in the token store",
    "service": "a Schwab streamer service name of its protocol (LEVELONE_FUTURES, ADMIN, ...)",
    "code": "a Schwab response code of its protocol",
    "cog": "a cog of bot/cogs (gex, status, alerts, trading)",
}

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


@dataclass(frozen=True)
class Scraped:
    """A series a collector computes at scrape time; `family()` gives the empty family to fill."""

    name: str
    help: str
    labels: tuple[str, ...]
    kind: Literal["gauge", "counter", "histogram"] = "gauge"

    def family(self) -> GaugeMetricFamily | CounterMetricFamily:
        """An empty gauge or counter family to fill (a histogram is built with `histogram()`)."""
        if self.kind == "counter":
            return CounterMetricFamily(self.name, self.help, labels=list(self.labels))
        return GaugeMetricFamily(self.name, self.help, labels=list(self.labels))

    def histogram(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self.name, self.help, labels=list(self.labels))

    def described(self) -> Metric:
        return self.histogram() if self.kind == "histogram" else self.family()

    @property
    def exposed_names(self) -> tuple[str, ...]:
        """The sample names Prometheus stores (counters gain `_total`, histograms their parts)."""
        if self.kind == "counter":
            return (f"{self.name}_total",)
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


# ---------------------------------------------------------------------------------------------
# Feeds: each streamer process, on its own port (`run_streamer --metrics-port`).
STREAMER_CONNECTED = Gauge("pipeline_streamer_connected", "1 while the feed is connected", ["feed"])
STREAMER_MESSAGES = Counter("pipeline_streamer_messages_total", "Raw messages received", ["feed"])
STREAMER_EVENTS = Counter("pipeline_streamer_events_written_total", "Events written to Redis", ["feed", "kind"])
STREAMER_DEAD_LETTERS = Counter(
    "pipeline_streamer_dead_letters_total", "Messages parked in the dead-letter stream", ["feed", "kind"]
)
STREAMER_RECONNECTS = Counter(
    "pipeline_streamer_reconnects_total", "Reconnections after a drop or a silent feed", ["feed"]
)
STREAMER_GAPS = Counter("pipeline_streamer_gaps_total", "Gap events recorded", ["feed"])
STREAMER_LATENCY = Histogram(
    "pipeline_streamer_latency_seconds", "Exchange time to Redis write, per event", ["feed"], buckets=LATENCY_BUCKETS
)
STREAMER_BATCH_SECONDS = Histogram(
    "pipeline_streamer_batch_write_seconds", "Time to write one batch to Redis", ["feed"]
)
STREAMER_WRITE_ERRORS = Counter(
    "pipeline_streamer_write_errors_total", "Batches that could not be encoded and were spilled to disk", ["feed"]
)
STREAMER_STORE_UP = Gauge(
    "pipeline_streamer_store_up", "1 while the hot store takes the streamer's writes, 0 while it buffers", ["feed"]
)
STREAMER_STORE_OUTAGES = Counter(
    "pipeline_streamer_store_outages_total", "Outages of the hot store that ended (the streamer buffered)", ["feed"]
)
STREAMER_STORE_OUTAGE_SECONDS = Counter(
    "pipeline_streamer_store_outage_seconds_total", "Time the hot store refused the streamer's writes", ["feed"]
)
STREAMER_LAST_MESSAGE_AGE = Scraped(
    "pipeline_streamer_last_message_age_seconds",
    "Seconds since the streamer last wrote an event (from its status hash)",
    ("feed",),
)
MARKET_REGULAR_HOURS = Scraped(
    "pipeline_market_regular_hours", "1 during the regular session of the exchange calendar (apps/core/sessions.py)", ()
)
STREAMER_IN_SESSION = Scraped(
    "pipeline_streamer_in_session",
    "1 while the feed's market is open by the calendar (a silent feed is stale only then)",
    ("feed",),
)

# ---------------------------------------------------------------------------------------------
# WebSocket gateway: the web process.
WS_CLIENTS = Gauge("pipeline_ws_clients", "Connected, authenticated WebSocket clients", ["topic"])
WS_SUBSCRIPTIONS = Gauge("pipeline_ws_subscriptions", "Symbols subscribed, summed over clients", ["topic"])
WS_MESSAGES_SENT = Counter("pipeline_ws_messages_sent_total", "Frames sent to clients (events and control)", ["topic"])
WS_EVENTS_SENT = Counter("pipeline_ws_events_sent_total", "Events sent to clients, live and replayed", ["topic"])
WS_REPLAYED = Counter(
    "pipeline_ws_replayed_events_total", "Events sent from the hot store's history on resume", ["topic"]
)
WS_SLOW_DISCONNECTS = Counter(
    "pipeline_ws_slow_disconnects_total", "Clients closed with 4008 because their queue was full", ["topic"]
)
WS_CONFLATIONS = Counter(
    "pipeline_ws_conflations_total",
    "Frames a slow client skipped because a newer one of its symbol replaced them",
    ["topic"],
)
WS_MERGED_FRAMES = Counter(
    "pipeline_ws_merged_frames_total",
    "Sends that carried several queued live frames of a symbol as one (a client behind the feed)",
    ["topic"],
)
WS_PROTOCOL_ERRORS = Counter("pipeline_ws_protocol_errors_total", "Client messages answered with an error", ["topic"])
WS_RELAY_ENTRIES = Counter("pipeline_ws_relay_entries_total", "Stream entries the relay read and decoded", ["topic"])
WS_RELAY_ERRORS = Counter("pipeline_ws_relay_errors_total", "Relay read failures and undecodable entries", ["topic"])
WS_SEND_LATENCY = Histogram(
    "pipeline_ws_send_latency_seconds",
    "From the Redis write (the stream entry id's time) to handing the frame to the server, live frames",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
WS_EXCHANGE_TO_SEND = Histogram(
    "pipeline_ws_exchange_to_send_seconds",
    "End to end: from the exchange time of a live frame's newest event to handing the frame to the server",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)

# ---------------------------------------------------------------------------------------------
# GEX: polls run in Celery workers; each worker counts its own (scraped with the worker's port).
GEX_POLLS = Counter(
    "pipeline_gex_polls_total", "GEX polls by source and outcome", ["source", "ticker", "category", "outcome"]
)
GEX_POLLS_SKIPPED = Counter("pipeline_gex_polls_skipped_total", "GEX polls not made, by reason", ["reason"])
GEXBOT_REQUESTS = Counter(
    "pipeline_gexbot_requests_total",
    "Requests to GEXBot by endpoint and HTTP status ('error': no answer)",
    ["endpoint", "status"],
)
GEXBOT_PAYLOAD_ERRORS = Counter(
    "pipeline_gexbot_payload_errors_total", "GEXBot answers that were not the documented shape", ["endpoint"]
)
GEX_BREAKER_OPEN = Scraped(
    "pipeline_gex_breaker_open", "1 while a GEX source's circuit breaker is open (shared in Redis)", ("breaker",)
)
GEX_SNAPSHOT_AGE = Scraped(
    "pipeline_gex_snapshot_age_seconds", "Seconds since the newest stored snapshot of a ticker", ("ticker",)
)

# ---------------------------------------------------------------------------------------------
# Hot store (scraped from Redis by the web process).
HOT_STREAM_LENGTH = Scraped("pipeline_hot_stream_length", "Entries in a hot stream", ("table", "symbol"))
HOT_STREAM_LAST_ENTRY_AGE = Scraped(
    "pipeline_hot_stream_last_entry_age_seconds", "Seconds since the newest entry of a hot stream", ("table", "symbol")
)
HOT_STREAM_BYTES = Scraped(
    "pipeline_hot_stream_memory_bytes", "Redis memory a hot stream uses (MEMORY USAGE)", ("table", "symbol")
)
REDIS_MEMORY_USED = Scraped("pipeline_redis_memory_used_bytes", "Memory the hot store's Redis uses", ())
REDIS_MEMORY_MAX = Scraped(
    "pipeline_redis_memory_max_bytes", "The hot store's memory cap (Redis maxmemory; 0 when unset)", ()
)
HOT_STREAM_OLDEST_UNACKED_AGE = Scraped(
    "pipeline_hot_stream_oldest_unacked_age_seconds",
    "Age of the oldest entry a consumer group has not acknowledged (pending or not yet read): the flush lag",
    ("table", "symbol", "group"),
)
DEAD_LETTERS = Scraped("pipeline_dead_letters", "Entries in a dead-letter stream", ("source",))

# ---------------------------------------------------------------------------------------------
# Lake (scraped from the lake directory and the flush's records in Redis).
LAKE_FLUSH_FAILING = Scraped("pipeline_lake_flush_failing", "1 while the last flush run could not write the lake", ())
LAKE_FLUSH_FAILURES = Scraped(
    "pipeline_lake_flush_failures", "Flush runs that could not write the lake", (), kind="counter"
)
LAKE_FLUSH_LAST_FAILURE = Scraped(
    "pipeline_lake_flush_last_failure_timestamp_seconds", "When a flush run last failed (Unix time)", ()
)
LAKE_FLUSH_LAST_SUCCESS = Scraped(
    "pipeline_lake_flush_last_success_timestamp_seconds", "When a flush run last wrote every stream (Unix time)", ()
)
LAKE_BYTES = Scraped("pipeline_lake_bytes", "Bytes of Parquet files per lake table and UTC day", ("table", "day"))
LAKE_FILES = Scraped("pipeline_lake_files", "Parquet files per lake table and UTC day", ("table", "day"))
LAKE_ROWS = Scraped(
    "pipeline_lake_rows", "Rows per lake table and UTC day (from the Parquet footers)", ("table", "day")
)
LAKE_DISK_FREE_RATIO = Scraped("pipeline_lake_disk_free_ratio", "Free fraction of the lake's file system", ())

# ---------------------------------------------------------------------------------------------
# Celery (task signals in every worker write to Redis; the web's /metrics reads it).
CELERY_TASKS = Scraped(
    "pipeline_celery_tasks", "Celery tasks finished, by task name and state", ("task", "state"), kind="counter"
)
CELERY_TASK_RUNTIME = Scraped(
    "pipeline_celery_task_runtime_seconds", "Celery task run time", ("task",), kind="histogram"
)
CELERY_QUEUE_DEPTH = Scraped("pipeline_celery_queue_depth", "Messages waiting in a Celery queue", ("queue",))
CELERY_WORKERS_UP = Scraped(
    "pipeline_celery_workers_up", "Workers that consume a queue and sent a heartbeat lately", ("queue",)
)
BEAT_HEARTBEAT_AGE = Scraped(
    "pipeline_beat_heartbeat_age_seconds", "Seconds since a beat-scheduled heartbeat task last ran in a worker", ()
)

# ---------------------------------------------------------------------------------------------
# Brokers, trading and alerts: the apps of issues 14-16 set these (deploy/prometheus/rules.yml
# alerts on them); until an app that sets one runs, its series stays empty.
# Broker feeds (issue 14): what the vendor sent, by its own message and event types, and how long
# the feed's tokens have left (label `credential`: access, refresh, quote).
STREAMER_MESSAGES_BY_TYPE = Counter(
    "pipeline_streamer_messages_by_type_total", "Raw messages received, by the vendor's message type", ["feed", "type"]
)
STREAMER_VENDOR_EVENTS = Counter(
    "pipeline_streamer_vendor_events_total",
    "Events in the vendor's data messages, by the vendor's event type",
    ["feed", "type"],
)
STREAMER_TOKEN_SECONDS_LEFT = Gauge(
    "pipeline_streamer_token_seconds_left", "Seconds until the feed's token expires", ["feed", "credential"]
)
SCHWAB_FRAMES = Counter("pipeline_schwab_frames_total", "Schwab streamer frames by type", ["type"])
SCHWAB_RESPONSE_CODES = Counter(
    "pipeline_schwab_response_codes_total", "Schwab response codes by service and code", ["service", "code"]
)
SCHWAB_BACKFILLED_BARS = Counter("pipeline_schwab_backfilled_bars_total", "Minute bars back-filled from price history")
# The token store (apps/brokers), set in whichever process refreshes or checks tokens.
BROKER_TOKEN_SECONDS_LEFT = Gauge(
    "pipeline_broker_token_seconds_left",
    "Seconds until a broker token ends (credential=access|refresh)",
    ["provider", "account", "credential"],
)
BROKER_REFRESH_EXPIRING = Gauge(
    "pipeline_broker_refresh_token_expiring",
    "1 when the broker's refresh token ends within a day or has ended: log in again",
    ["provider", "account"],
)
BROKER_TOKEN_EXPIRY = Gauge(
    "pipeline_broker_token_expiry_timestamp_seconds", "When a broker token expires (Unix time)", ["feed", "credential"]
)
# The Discord bot (`run_bot`, its own /metrics port).
BOT_CONNECTED = Gauge("pipeline_bot_connected", "1 while the bot holds a Discord gateway connection")
BOT_DISCONNECTS = Counter("pipeline_bot_disconnects_total", "Discord gateway disconnects")
BOT_COMMANDS = Counter("pipeline_bot_commands_total", "Commands handled by cog and outcome", ["cog", "outcome"])
TRADING_KILL_SWITCH = Gauge("pipeline_trading_kill_switch", "1 while the trading kill switch is on", [])
TRADING_ATTEMPTS = Counter("pipeline_trading_attempts_total", "Order attempts by decision", ["decision"])
ALERT_MATCHES = Counter("pipeline_alert_matches_total", "Alert rule matches", [])
ALERT_DELIVERIES = Counter(
    "pipeline_alert_deliveries_total", "Alert deliveries by action and outcome", ["action", "outcome"]
)

# ---------------------------------------------------------------------------------------------
# Health (the same checks as /health/detailed, at scrape time).
HEALTH_CHECK_STATUS = Scraped(
    "pipeline_health_check_status", "A health check's result: 2 ok, 1 degraded, 0 failed", ("check",)
)
HEALTH_CHECK_SECONDS = Scraped("pipeline_health_check_seconds", "How long a health check took", ("check",))


def instruments() -> list[Counter | Gauge | Histogram]:
    """Every instrument defined here."""
    return [value for value in globals().values() if isinstance(value, Counter | Gauge | Histogram)]


def scraped() -> list[Scraped]:
    """Every scraped series defined here."""
    return [value for value in globals().values() if isinstance(value, Scraped)]
