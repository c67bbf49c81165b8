"""/api/vendor/bars: a feed's own minute bars (Schwab CHART_FUTURES and back-filled price
history) as the hot store keeps them; /api/vendor/latest's bad input (its values are tested
end to end in tests/streamers/tastytrade/test_vendor_values.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from django.conf import settings

from apps.core.redis import get_async_redis
from apps.marketdata.services.vendor_bars import VendorBarRecord, VendorBarWrite, vendor_bars_write
from tests.apps.api.conftest import Caller

MINUTE = int(datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp() * 1000)


def _write(bars: list[VendorBarWrite]) -> None:
    async def write() -> None:
        client = get_async_redis(settings.REDIS_URL)
        try:
            await vendor_bars_write(client=client, feed="schwab", bars=bars)
        finally:
            await client.aclose()

    asyncio.run(write())


def test_a_feeds_own_minute_bars_are_served_oldest_first_within_the_range(reader: Caller) -> None:
    _write(
        [
            VendorBarWrite("ESZ26", VendorBarRecord(MINUTE + 60_000, 6001.0, 6002.0, 6000.5, 6001.5, 40.0)),
            VendorBarWrite("ESZ26", VendorBarRecord(MINUTE, 6000.0, 6001.25, 5999.75, 6001.0, 25.0)),
            VendorBarWrite("ESZ26", VendorBarRecord(MINUTE + 120_000, 6001.5, 6003.0, 6001.0, 6002.75, 12.0)),
            VendorBarWrite("NQZ26", VendorBarRecord(MINUTE, 21000.0, 21001.0, 20999.0, 21000.5, 3.0)),
        ]
    )
    answer = reader.get("/api/vendor/bars", symbol="/ESZ26", start="2026-11-24T15:00:00Z", end="2026-11-24T15:01:30Z")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["symbol"], body["feed"]) == ("ESZ26", "schwab")
    assert [
        (bar["time"], bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]) for bar in body["bars"]
    ] == [
        ("2026-11-24T15:00:00Z", 6000.0, 6001.25, 5999.75, 6001.0, 25.0),
        ("2026-11-24T15:01:00Z", 6001.0, 6002.0, 6000.5, 6001.5, 40.0),
    ]
    other_feed = reader.get("/api/vendor/bars", symbol="ESZ26", feed="tastytrade", start="2026-11-24T15:00:00Z")
    assert other_feed.status_code == 200
    assert other_feed.json()["bars"] == []


def test_bad_input_is_named_and_no_values_is_a_404(reader: Caller) -> None:
    assert reader.get("/api/vendor/bars", symbol="../etc").status_code == 422
    assert reader.get("/api/vendor/latest", symbol="ESZ26", feed="nosuchfeed").status_code == 422
    missing = reader.get("/api/vendor/latest", symbol="ESZ26")
    assert missing.status_code == 404
    assert "ESZ26" in missing.json()["detail"]
