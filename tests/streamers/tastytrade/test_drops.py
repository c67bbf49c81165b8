"""A hundred abrupt drops (the socket cut, no close frame): the streamer reconnects each time,
records one gap per outage, and every print the fake sent before each drop is in Redis exactly
once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from apps.marketdata.selectors import gaps_list, trades_last
from streamers.tastytrade.client import TastytradeClient
from tests.fakes.tastytrade import FakeTastytrade, time_and_sale
from tests.streamers.tastytrade.helpers import ES, ES_DX, make_runner, publish, run_with, subscribed, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DROPS = 100
PER_ROUND = 5


def test_a_hundred_drops_make_a_hundred_gaps_and_lose_or_repeat_nothing() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, config={"depth": False})
        client = runner.client
        assert isinstance(client, TastytradeClient)
        index = 0

        def received() -> int:
            return client.context.rows_by_type.get("TimeAndSale", 0)

        async def one_round() -> None:
            nonlocal index
            rows = []
            for _ in range(PER_ROUND):
                index += 1
                rows.append(
                    time_and_sale(
                        symbol=ES_DX,
                        ts_ns=time.time_ns() // 1000 * 1000,
                        price=6000.0 + index % 40 / 4,
                        size=1 + index % 7,
                        side="BUY",
                        index=index,
                    )
                )
            assert await publish(fake, "TimeAndSale", rows) == PER_ROUND
            # Cut as soon as the client has read them: the runner has not necessarily written them yet.
            await until(lambda: received() == index)

        async def body() -> None:
            for drop in range(DROPS):
                await subscribed(fake, ("TimeAndSale", ES_DX))
                await one_round()
                await asyncio.to_thread(fake.drop_connections)
                await until(lambda d=drop: runner.reconnects == d + 1)
            await subscribed(fake, ("TimeAndSale", ES_DX))
            await one_round()
            await until(lambda: runner.gaps == DROPS and runner.events_written == index)

        await run_with(runner, body)
        assert runner.reconnects == DROPS

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
        sent = Counter(row.row["index"] for row in fake.sent)
        connections = len(fake.connections)

    assert connections == DROPS + 1
    assert len(sent) == (DROPS + 1) * PER_ROUND
    assert set(sent.values()) == {1}
    stored = Counter(item.trade.seq for item in trades_last(symbol=ES, count=10_000))
    assert stored == sent, "every print sent before each drop is in Redis exactly once"
    gaps = gaps_list(feed="tastytrade", count=1000)
    assert len(gaps) == DROPS
    assert all(gap.symbols == [ES] and gap.start_ms <= gap.end_ms for gap in gaps)
