"""`run_streamer schwab` against the fake Schwab over real sockets: tokens from the store, user
preferences, LOGIN, subscriptions, trades derived from changed-fields-only rows, books, bars."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from django.conf import settings

from apps.core.redis import get_redis
from apps.marketdata.selectors import quote_latest, trades_last
from apps.marketdata.services.vendor_bars import vendor_bars_range
from streamers.runner import StreamerRunner
from tests.fakes.schwab import FakeSchwab
from tests.streamers.schwab.conftest import SYMBOLS, login, run_with, runner_config, schwab_client, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def stored_trades() -> list[tuple[str, int, float, int]]:
    found = []
    for symbol in SYMBOLS:
        key = "/" + symbol[:-2] + symbol[-2:]
        found += [
            (key, item.trade.seq, item.trade.price, item.trade.size)
            for item in trades_last(symbol=symbol, count=10_000)
        ]
    return found


def test_trades_quotes_and_bars_flow_from_the_fake_into_redis(token_key: str) -> None:
    async def scenario() -> None:
        fake = FakeSchwab(tick_interval=0.01, bar_interval=0.2)
        await fake.start()
        try:
            await asyncio.to_thread(login, fake)
            runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)

            async def body() -> None:
                await until(lambda: len(fake.sent_trades) >= 50)
                fake.paused = True  # what was sent must all arrive; nothing more is sent
                await until(lambda: Counter(stored_trades()) == Counter(fake.sent_trades))

            await run_with(runner, body)
            assert fake.logins == 1
            services = {command["service"] for command in fake.commands}
            assert {"ADMIN", "LEVELONE_FUTURES", "CHART_FUTURES"} <= services
            # Every trade the fake sent is in Redis once, with its price and size; none invented.
            stored = stored_trades()
            assert Counter(stored) == Counter(fake.sent_trades)
            assert quote_latest(symbol="ESZ26") is not None
            bars = vendor_bars_range(client=get_redis(), feed="schwab", symbol="ESZ26", start_ms=0, end_ms=2**62)
            assert bars
            assert bars[-1].volume > 0
        finally:
            await fake.stop()

    asyncio.run(scenario())
