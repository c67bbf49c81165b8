"""A feed's own minute bars: a minute written again (live, then back-filled) replaces itself."""

from __future__ import annotations

import asyncio

from django.conf import settings

from apps.core.redis import get_async_redis, get_redis
from apps.marketdata.selectors import vendor_bars_range
from apps.marketdata.services.vendor_bars import VendorBarRecord, VendorBarWrite, vendor_bars_write

MINUTE = 1_796_000_040_000 - 1_796_000_040_000 % 60_000


def test_a_minute_written_twice_is_one_bar_with_the_later_values() -> None:
    async def write() -> None:
        client = get_async_redis(settings.REDIS_URL)
        try:
            await vendor_bars_write(
                client=client,
                feed="schwab",
                bars=[
                    VendorBarWrite("ESZ26", VendorBarRecord(MINUTE, 1.0, 2.0, 0.5, 1.5, 10.0)),
                    VendorBarWrite("ESZ26", VendorBarRecord(MINUTE + 60_000, 1.5, 1.75, 1.25, 1.5, 3.0)),
                ],
            )
            await vendor_bars_write(
                client=client,
                feed="schwab",
                bars=[VendorBarWrite("ESZ26", VendorBarRecord(MINUTE, 1.0, 2.5, 0.5, 2.25, 17.0))],
            )
        finally:
            await client.aclose()

    asyncio.run(write())
    bars = vendor_bars_range(client=get_redis(), feed="schwab", symbol="ESZ26", start_ms=0, end_ms=2**62)
    assert bars == [
        VendorBarRecord(MINUTE, 1.0, 2.5, 0.5, 2.25, 17.0),
        VendorBarRecord(MINUTE + 60_000, 1.5, 1.75, 1.25, 1.5, 3.0),
    ]
    only_second = vendor_bars_range(
        client=get_redis(), feed="schwab", symbol="ESZ26", start_ms=MINUTE + 1, end_ms=2**62
    )
    assert [bar.start_ms for bar in only_second] == [MINUTE + 60_000]
