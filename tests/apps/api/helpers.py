"""Endpoints the API tests walk; market data comes from tests/factories.py."""

from __future__ import annotations

from tests.factories import T0, ns, trade, write

__all__ = ["CONTROL_ENDPOINTS", "ENDPOINTS", "T0", "ns", "trade", "write"]

CONTROL_ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("post", "/api/control/streamers/simulator/start", {}),
    ("post", "/api/control/streamers/simulator/stop", {}),
    ("post", "/api/control/streamers/simulator/resubscribe", {}),
    ("post", "/api/control/flush", {}),
    ("post", "/api/control/purge", {}),
]

# Every operation of the API, with parameters that make a valid request.
ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("get", "/api/symbols", {}),
    ("get", "/api/ticks/last", {"symbol": "ESZ26"}),
    ("get", "/api/ticks", {"symbol": "ESZ26"}),
    ("get", "/api/quotes/latest", {"symbol": "ESZ26"}),
    ("get", "/api/quotes", {"symbol": "ESZ26"}),
    ("get", "/api/depth/book", {"symbol": "ESZ26", "feed": "test"}),
    ("get", "/api/depth/compare", {"symbol": "ESZ26", "feeds": "schwab,tastytrade"}),
    ("get", "/api/depth/live", {"symbol": "ESZ26"}),
    ("get", "/api/depth/history", {"symbol": "ESZ26"}),
    ("get", "/api/profile", {"symbol": "ESZ26"}),
    ("get", "/api/bars", {"symbol": "ESZ26"}),
    ("get", "/api/bars/export", {"symbol": "ESZ26"}),
    ("get", "/api/vendor/latest", {"symbol": "ESZ26"}),
    ("get", "/api/vendor/bars", {"symbol": "ESZ26"}),
    ("get", "/api/gex/latest", {"ticker": "ES_SPX"}),
    ("get", "/api/gex/at", {"ticker": "ES_SPX", "at": "2026-11-24T15:00:00Z"}),
    ("get", "/api/gex/history", {"ticker": "ES_SPX"}),
    ("get", "/api/status/streamers", {}),
    ("get", "/api/status/flush", {}),
    ("get", "/api/status/queues", {}),
    ("get", "/api/alerts/recent", {}),
    ("get", "/api/replays", {}),
    ("get", "/api/replays/nov20", {}),
    *CONTROL_ENDPOINTS,
]
