"""`run_streamer schwab` against the fake Schwab over real sockets: tokens from the store, user
preferences, LOGIN, subscriptions, trades derived from changed-fields-only rows, books, bars."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from django.conf import settings

from apps.core.redis import get_redis
from apps.marketdata.selectors import gaps_list, quote_latest, trades_last, vendor_bars_range
from streamers.runner import StreamerRunner
from tests.fakes.schwab import FakeSchwab
from tests.streamers.schwab.conftest import SYMBOLS, login, run_with, runner_config, schwab_client, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DROPS = 100


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
            notifications = get_redis().pubsub()
            notifications.subscribe("market_data:schwab:trades")  # the seed's channel, as today's feeds

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
            published = [notifications.get_message(timeout=1) for _ in range(3)]
            assert any(message and message["type"] == "message" for message in published)
            notifications.close()
            bars = vendor_bars_range(client=get_redis(), feed="schwab", symbol="ESZ26", start_ms=0, end_ms=2**62)
            assert bars
            assert bars[-1].volume > 0
        finally:
            await fake.stop()

    asyncio.run(scenario())


def test_a_hundred_drops_make_a_hundred_gaps_and_every_trade_sent_arrives_once() -> None:
    """The fake drops the socket (no close frame) after every 5 trades, 100 times. Each drop is a
    gap event; every trade sent before a drop is in Redis exactly once (the first row after a
    reconnect is a baseline, never counted as a trade again)."""

    async def scenario() -> None:
        fake = FakeSchwab(tick_interval=0.005)
        fake.drop_every_trades, fake.drops_remaining = 5, DROPS
        await fake.start()
        try:
            await asyncio.to_thread(login, fake)
            runner = StreamerRunner(schwab_client(fake), runner_config(), redis_url=settings.REDIS_URL)

            async def body() -> None:
                await until(lambda: fake.drops >= DROPS and fake.logins >= DROPS + 1, within=240)
                # A gap is recorded when the first message after the reconnect arrives.
                await until(lambda: runner.gaps >= DROPS and len(fake.sent_trades) >= 5 * DROPS + 10)
                fake.paused = True
                try:
                    await until(lambda: runner.gaps >= DROPS and Counter(stored_trades()) == Counter(fake.sent_trades))
                except AssertionError:
                    stored, sent = Counter(stored_trades()), Counter(fake.sent_trades)
                    raise AssertionError(
                        f"gaps={runner.gaps} reconnects={runner.reconnects} logins={fake.logins} drops={fake.drops} missing={sorted(sent - stored)[:10]} extra={sorted(stored - sent)[:10]}"
                    ) from None

            await run_with(runner, body)
            assert runner.gaps == fake.drops == DROPS
            assert len(gaps_list(feed="schwab", count=1000)) == DROPS
            stored = stored_trades()
            assert len(stored) == len(set(stored)) == len(fake.sent_trades)
        finally:
            await fake.stop()

    asyncio.run(scenario())


@pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning")  # schwab-py's own import
def test_schwab_py_stream_client_works_against_the_fake_unchanged() -> None:
    """schwab-py's own StreamClient (its streamer URL comes from user preferences) logs in,
    subscribes and receives level one, book and chart rows from the fake."""
    import httpx
    from schwab.streaming import StreamClient

    class PreferencesOverHttp:
        """What StreamClient needs of schwab-py's REST client: user preferences (fetched from the
        fake over HTTP) and the access token."""

        def __init__(self, api_url: str, access_token: str) -> None:
            self.api_url = api_url
            self.token_metadata = type("TokenMetadata", (), {"token": {"access_token": access_token}})()

        async def get_user_preferences(self) -> httpx.Response:
            async with httpx.AsyncClient() as http:
                return await http.get(
                    f"{self.api_url}/trader/v1/userPreference",
                    headers={"Authorization": f"Bearer {self.token_metadata.token['access_token']}"},
                )

    async def scenario() -> None:
        fake = FakeSchwab(tick_interval=0.01, book_interval=0.1, bar_interval=0.1)
        await fake.start()
        try:
            tokens = fake.issue_tokens()
            stream = StreamClient(PreferencesOverHttp(fake.api_url, tokens["access_token"]))
            received: dict[str, list[dict]] = {"futures": [], "book": [], "chart": []}
            stream.add_level_one_futures_handler(received["futures"].append)
            stream.add_nasdaq_book_handler(received["book"].append)
            stream.add_chart_futures_handler(received["chart"].append)
            await stream.login()
            await stream.level_one_futures_subs(["/ESZ26"])
            await stream.nasdaq_book_subs(["AAPL"])
            await stream.chart_futures_subs(["/ESZ26"])
            while not all(received.values()):
                await asyncio.wait_for(stream.handle_message(), timeout=10)
            first = received["futures"][0]["content"][0]
            assert first["key"] == "/ESZ26"
            assert {"BID_PRICE", "ASK_PRICE", "LAST_PRICE", "TOTAL_VOLUME"} <= set(first)
            book = received["book"][0]["content"][0]
            assert book["key"] == "AAPL"
            assert book["BIDS"]
            assert book["ASKS"]
            assert received["chart"][0]["content"][0]["key"] == "/ESZ26"
            await stream.logout()
        finally:
            await fake.stop()

    asyncio.run(scenario())
