"""Metrics of the Schwab streamer beyond the runner's own (messages, reconnects, gaps, latency)."""

from __future__ import annotations

from prometheus_client import Counter

FRAMES = Counter("pipeline_schwab_frames_total", "Schwab streamer frames by type", ["type"])
RESPONSE_CODES = Counter(
    "pipeline_schwab_response_codes_total", "Schwab response codes by service and code", ["service", "code"]
)
BACKFILLED_BARS = Counter("pipeline_schwab_backfilled_bars_total", "Minute bars back-filled from price history")
