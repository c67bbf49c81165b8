"""The streamer's group commit (streamers/batching.py): an idle feed's trade is written the moment
it is parsed, not at the next batch interval; a burst goes out in a few batches, every trade once
and in order. The real runner and tastytrade client against the fake over a real socket, a real
Redis; the periodic flush is set to an hour, so only the group commit can have written anything
before the stop.

The trades are stamped on Wednesday 2026-12-02, 14:30 UTC (a regular session day; the writer does
not look at the date, the stamps only have to be fixed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.blocks import decode_trades
from tests.fakes.tastytrade import FakeTastytrade, time_and_sale
from tests.streamers.tastytrade.helpers import ES, ES_DX, make_runner, publish, run_with, subscribed, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WEDNESDAY_NS = int(datetime(2026, 12, 2, 14, 30, tzinfo=UTC).timestamp()) * 1_000_000_000
HOUR = 3600.0


def prints(first: int, count: int) -> list[dict[str, object]]:
    return [
        time_and_sale(
            symbol=ES_DX,
            ts_ns=WEDNESDAY_NS + index * 1000,
            price=6000.0 + index % 8 * 0.25,
            size=1,
            side="BUY",
            index=index,
        )
        for index in range(first, first + count)
    ]


def stored_seqs() -> list[int]:
    entries = get_redis().xrange(keys.trades(ES))
    return [trade.seq for _, fields in entries for trade in decode_trades(ES, fields[b"d"])]


def test_an_idle_feeds_trade_is_written_at_once_not_at_the_next_interval() -> None:
    seen_while_running: list[list[int]] = []

    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, batch_interval=HOUR)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            await publish(fake, "TimeAndSale", prints(1, 1))
            # With the interval at an hour only a write started by the trade itself can get it
            # there while the runner runs.
            await until(lambda: bool(stored_seqs()), within=20)
            seen_while_running.append(stored_seqs())
            await publish(fake, "TimeAndSale", prints(2, 1))
            await until(lambda: len(stored_seqs()) == 2, within=20)
            seen_while_running.append(stored_seqs())

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
    assert seen_while_running == [[1], [1, 2]]
    entries = get_redis().xrange(keys.trades(ES))
    assert [int(fields[b"n"]) for _, fields in entries] == [1, 1], "each trade went out on its own"


def test_a_burst_is_written_in_few_batches_every_trade_once_and_in_order() -> None:
    frames, per_frame = 200, 50

    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, batch_interval=HOUR, batch_size=2000)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            for number in range(frames):
                await publish(fake, "TimeAndSale", prints(number * per_frame, per_frame))
            await until(lambda: runner.events_written >= frames * per_frame, within=60)
            # And after the burst, a lone trade still goes out at once.
            await publish(fake, "TimeAndSale", prints(frames * per_frame, 1))
            await until(lambda: runner.events_written == frames * per_frame + 1, within=20)

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
    assert stored_seqs() == list(range(frames * per_frame + 1)), "every trade, once, in order"
    sizes = [int(fields[b"n"]) for _, fields in get_redis().xrange(keys.trades(ES))]
    assert max(sizes) <= 2000
    assert sizes[-1] == 1
