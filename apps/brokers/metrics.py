"""Prometheus metrics of the token store, set in whichever process refreshes or checks tokens."""

from __future__ import annotations

from prometheus_client import Gauge

TOKEN_SECONDS_LEFT = Gauge(
    "pipeline_broker_token_seconds_left",
    "Seconds until a broker token ends (token=access|refresh)",
    ["provider", "account", "token"],
)
REFRESH_EXPIRING = Gauge(
    "pipeline_broker_refresh_token_expiring",
    "1 when the broker's refresh token ends within a day or has ended: log in again",
    ["provider", "account"],
)
