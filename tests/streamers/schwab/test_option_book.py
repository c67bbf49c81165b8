"""Schwab's OPTIONS_BOOK: an OCC option put in the Schwab symbol list (runtime setting
`brokers.schwab_symbols`, applied without a restart) is subscribed under Schwab's padded key, and
its whole books arrive as depth snapshots under the option's canonical symbol, readable through
/api/depth/book. The fake Schwab over real sockets, the real runner and client, a real Redis.

The market stands on Wednesday 17 December 2025, 10:30 New York time (a normal session, two days
before the option expires): the fake stamps every frame at that instant and the test reads the
book there, whatever today's date."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts.services import token_create
from apps.core.services import runtime_setting_update
from apps.marketdata.selectors import book_at
from streamers.runner import StreamerRunner
from tests.fakes.schwab import FakeSchwab
from tests.streamers.schwab.conftest import login, run_with, runner_config, schwab_client, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OPTION = "AAPL251219C00200000"
OPTION_KEY = "AAPL  251219C00200000"
WEDNESDAY = datetime(2025, 12, 17, 15, 30, tzinfo=UTC)  # 10:30 in New York


def _book() -> object:
    return book_at(symbol=OPTION, at=WEDNESDAY, feed="schwab")


def _subscriptions(fake: FakeSchwab, service: str) -> list[str]:
    return [
        str(command["parameters"]["keys"])
        for command in fake.commands
        if command.get("service") == service and command.get("command") == "SUBS"
    ]


def test_an_option_in_the_schwab_list_streams_its_book_as_depth_snapshots() -> None:
    runtime_setting_update(key="brokers.schwab_symbols", value=["ESZ26"])

    async def scenario() -> None:
        fake = FakeSchwab(tick_interval=0.02, book_interval=0.1, at=WEDNESDAY)
        await fake.start()
        try:
            await asyncio.to_thread(login, fake)
            runner = StreamerRunner(
                schwab_client(fake),
                # No trim: it cuts the streams by the wall clock, and this market stands on a set day.
                runner_config(fixed_symbols=None, symbols_setting="brokers.schwab_symbols", trim_interval=3600),
                redis_url=settings.REDIS_URL,
            )

            async def body() -> None:
                await until(lambda: _subscriptions(fake, "LEVELONE_FUTURES") == ["/ESZ26"])
                assert _subscriptions(fake, "OPTIONS_BOOK") == []
                await asyncio.to_thread(runtime_setting_update, key="brokers.schwab_symbols", value=["ESZ26", OPTION])
                await until(lambda: _subscriptions(fake, "OPTIONS_BOOK") == [OPTION_KEY])
                await until(lambda: _book() is not None)

            await run_with(runner, body)
            assert fake.logins == 1, "the option went over the open connection"
            # An option is not an equity: no level one or equity book was asked for it.
            assert all(OPTION_KEY not in keys for keys in _subscriptions(fake, "LEVELONE_EQUITIES"))
            assert all(OPTION_KEY not in keys for keys in _subscriptions(fake, "NASDAQ_BOOK"))
        finally:
            await fake.stop()

    asyncio.run(scenario())

    book = book_at(symbol=OPTION, at=WEDNESDAY, feed="schwab")
    assert book is not None
    assert book.ts_ms == WEDNESDAY.timestamp() * 1000, "the book carries Schwab's own time"
    levels = book.levels()
    # The fake's book: five levels a side, a tick (0.01) apart, 100, 200, ... lots.
    assert [size for _, size in levels["bids"]] == [100, 200, 300, 400, 500]
    assert [size for _, size in levels["asks"]] == [100, 200, 300, 400, 500]
    assert levels["bids"][0][0] < levels["asks"][0][0]

    user = User.objects.create_user(username="trader", password="pw-trader")
    _, secret = token_create(user=user, name="option book")
    answer = Client().get(
        "/api/depth/book",
        {"symbol": OPTION, "feed": "schwab", "at": WEDNESDAY.isoformat()},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 200, answer.content
    assert [size for _, size in answer.json()["bids"]][:5] == [100, 200, 300, 400, 500]
