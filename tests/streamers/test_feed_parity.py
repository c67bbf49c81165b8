"""Feed parity: one scripted market (the simulator's model, seeded) sent through the fake Schwab
and the fake tastytrade, each in its own wire form (Schwab: changed-fields LEVELONE rows and
whole NASDAQ_BOOK books; DXLink: TimeAndSale, Quote and Order events), read by the two real
streamers at once. Both produce the same trades (price, size, side, order, exchange time to the
millisecond) and the same books, and `/api/depth/compare` shows the two books side by side."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from pydantic import SecretStr

from apps.marketdata.selectors import book_at, trades_last
from streamers.config import RunnerConfig
from streamers.runner import StreamerRunner
from streamers.simulator.market import SimulatedMarket
from tests.apps.api.conftest import make_caller
from tests.fakes.schwab import FakeSchwab, FakeSchwabThread
from tests.fakes.tastytrade import FakeTastytrade, MarketScript
from tests.streamers.schwab.conftest import login, schwab_client
from tests.streamers.tastytrade.helpers import make_runner, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SYMBOL = "SPY"
STEPS = 120
STEP_MS = 5


@pytest.fixture(autouse=True)
def token_key(settings: Any) -> str:
    key = Fernet.generate_key().decode()
    settings.ENV = settings.ENV.model_copy(update={"BROKER_TOKEN_KEY": SecretStr(key)})
    return key


def script(start_ms: int) -> list[list[dict[str, Any]]]:
    """The market's messages, step by step, on a millisecond grid: first the opening quote and
    book, then STEPS arrivals."""
    market = SimulatedMarket(symbols=[SYMBOL], seed=11, rate=20)
    book = market.books[SYMBOL]
    opening_ns = start_ms * 1_000_000
    steps = [
        [
            {
                "type": "quote",
                "sym": SYMBOL,
                "t": opening_ns,
                "bid": book.bid,
                "bsz": book.bids[0],
                "ask": book.ask,
                "asz": book.asks[0],
            },
            {"type": "book", "sym": SYMBOL, "t": opening_ns, **book.levels()},
        ]
    ]
    steps += [market.step((start_ms + step * STEP_MS) * 1_000_000) for step in range(1, STEPS + 1)]
    return steps


class SchwabWire:
    """The simulator's messages as the Schwab streamer sends them: a trade is a LEVELONE row
    whose volume grew (last price, last size, trade time), a quote a row of bid/ask fields, a book
    a whole NASDAQ_BOOK row. Level changes have no Schwab form (its books come whole)."""

    def __init__(self) -> None:
        self.volume = 0

    def frames(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        ms = message["t"] // 1_000_000
        if message["type"] == "trade":
            self.volume += message["sz"]
            row = {"key": SYMBOL, "3": message["px"], "8": self.volume, "9": message["sz"], "35": ms}
            return [{"service": "LEVELONE_EQUITIES", "timestamp": ms, "command": "SUBS", "content": [row]}]
        if message["type"] == "quote":
            row = {
                "key": SYMBOL,
                "1": message["bid"],
                "2": message["ask"],
                "4": message["bsz"],
                "5": message["asz"],
                "34": ms,
            }
            if self.volume == 0:  # the first row: the day so far, the baseline of the volume
                row.update({"3": message["bid"], "8": 0, "9": 0, "35": ms})
            return [{"service": "LEVELONE_EQUITIES", "timestamp": ms, "command": "SUBS", "content": [row]}]
        if message["type"] == "book":
            row = {
                "key": SYMBOL,
                "1": ms,
                "2": [{"0": px, "1": sz, "2": 1} for px, sz in message["bids"]],
                "3": [{"0": px, "1": sz, "2": 1} for px, sz in message["asks"]],
            }
            return [{"service": "NASDAQ_BOOK", "timestamp": ms, "command": "SUBS", "content": [row]}]
        return []


async def send_schwab(thread: FakeSchwabThread, fake: FakeSchwab, items: list[dict[str, Any]]) -> None:
    async def send() -> None:
        for session in list(fake.sessions):
            if not session.closed:
                await fake._send(session, {"data": items})

    await asyncio.to_thread(thread.call, send())


def test_one_scripted_market_through_both_fakes_gives_the_same_trades_and_books() -> None:
    start_ms = int(time.time() * 1000) - 60_000
    steps = script(start_ms)
    # Instants where the book message is the step's last change of depth: there the DXLink book
    # (changed level by level) and Schwab's (sent whole) must be the same book.
    comparable_books = []
    for messages in steps:
        depth = [m for m in messages if m["type"] in ("level", "book")]
        if depth and depth[-1]["type"] == "book":
            comparable_books.append(depth[-1]["t"] // 1_000_000)
    assert len(comparable_books) >= 3, "the script has whole books to compare"

    async def scenario(tasty: FakeTastytrade, thread: FakeSchwabThread, schwab: FakeSchwab) -> None:
        await asyncio.to_thread(login, schwab)
        schwab_runner = StreamerRunner(
            schwab_client(schwab),
            RunnerConfig(name="schwab", fixed_symbols=(SYMBOL,), status_interval=0.2, backoff_initial=0.05),
            redis_url=settings.REDIS_URL,
        )
        tasty_runner = make_runner(tasty, fixed_symbols=(SYMBOL,))
        dx = MarketScript(dx_symbols={SYMBOL: SYMBOL}, seed=11)
        wire = SchwabWire()
        expected_trades = sum(m["type"] == "trade" for messages in steps for m in messages)

        async def body() -> None:
            await until(lambda: tasty.subscribed("TimeAndSale", SYMBOL) and tasty.subscribed("Order", SYMBOL))
            await until(
                lambda: any(
                    SYMBOL in s.subs.get("LEVELONE_EQUITIES", {}) and SYMBOL in s.subs.get("NASDAQ_BOOK", {})
                    for s in schwab.sessions
                )
            )
            for messages in steps:
                for message in messages:
                    for event_type, rows in dx.rows_of(message).items():
                        if event_type != "Trade":
                            await asyncio.to_thread(tasty.publish, event_type, rows)
                    items = wire.frames(message)
                    if items:
                        await send_schwab(thread, schwab, items)
            await until(
                lambda: (
                    tasty_runner.events_written > 0
                    and len([t for t in trades_last(symbol=SYMBOL, count=10_000) if t.trade.feed == "schwab"])
                    == expected_trades
                    and len([t for t in trades_last(symbol=SYMBOL, count=10_000) if t.trade.feed == "tastytrade"])
                    == expected_trades
                )
            )

        tasks = [asyncio.create_task(schwab_runner.run()), asyncio.create_task(tasty_runner.run())]
        try:
            await body()
        finally:
            schwab_runner.stop()
            tasty_runner.stop()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)

    thread = FakeSchwabThread(heartbeat_interval=0.5)
    with FakeTastytrade() as tasty, thread as schwab:
        schwab.paused = True  # its own random walk stays still: only the script trades
        asyncio.run(scenario(tasty, thread, schwab))

    def trades(feed: str) -> list[tuple[float, int, int, int]]:
        return [
            (t.trade.price, t.trade.size, int(t.trade.side), t.trade.ts_event // 1_000_000)
            for t in trades_last(symbol=SYMBOL, count=10_000)
            if t.trade.feed == feed
        ]

    assert trades("schwab") == trades("tastytrade")
    assert {side for _, _, side, _ in trades("tastytrade")} == {1, 2}, "buys and sells, both sides derived alike"
    for at_ms in comparable_books:
        at = datetime.fromtimestamp(at_ms / 1000, tz=UTC)
        schwab_book = book_at(symbol=SYMBOL, at=at, feed="schwab")
        tasty_book = book_at(symbol=SYMBOL, at=at, feed="tastytrade")
        assert schwab_book is not None
        assert tasty_book is not None
        assert schwab_book.levels() == tasty_book.levels(), at_ms
    caller = make_caller("parity", staff=False)
    last = datetime.fromtimestamp(comparable_books[-1] / 1000, tz=UTC).isoformat()
    compared = caller.get("/api/depth/compare", symbol=SYMBOL, feeds="schwab,tastytrade", at=last).json()
    assert compared["books"]["schwab"]["bids"] == compared["books"]["tastytrade"]["bids"]
    assert compared["books"]["schwab"]["asks"] == compared["books"]["tastytrade"]["asks"]
    assert len(compared["books"]["tastytrade"]["bids"]) == 10
