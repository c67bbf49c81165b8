"""Simulator wire format -> events, without a socket; and the market model's consistency."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from apps.core.clock import EXCHANGE_TZ
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Quote, Side, Trade
from streamers.feed import MalformedMessageError
from streamers.simulator.market import LEVELS, TICK, Globex, SimulatedMarket, globex_session
from streamers.simulator.parsing import parse


def test_each_message_type_parses() -> None:
    frame = msgspec.json.encode(
        [
            {"type": "trade", "sym": "ESZ26", "t": 5, "px": 6000.25, "sz": 3, "side": "S", "seq": 9},
            {"type": "quote", "sym": "ESZ26", "t": 5, "bid": 6000.0, "bsz": 4, "ask": 6000.25, "asz": 6},
            {"type": "book", "sym": "ESZ26", "t": 5, "bids": [[6000.0, 4]], "asks": [[6000.25, 6]]},
            {"type": "level", "sym": "ESZ26", "t": 5, "side": "A", "px": 6000.25, "sz": 0},
            {"type": "heartbeat"},
        ]
    )
    events = parse(frame, ts_recv=7)
    assert [type(event) for event in events] == [Trade, Quote, DepthSnapshot, DepthUpdate]
    trade = events[0]
    assert isinstance(trade, Trade)
    assert (trade.price, trade.size, trade.side, trade.seq, trade.ts_recv, trade.feed) == (
        6000.25,
        3,
        Side.SELL,
        9,
        7,
        "simulator",
    )


@pytest.mark.parametrize(
    ("frame", "kind", "location"),
    [
        (b"{", "invalid_json", "frame"),
        (b"[1]", "not_an_object", "$[0]"),
        (b'{"type": "trade", "sym": "ESZ26", "t": 1, "px": "high", "sz": 1, "side": "B"}', "trade", "$.px"),
        (b'{"type": "trade", "sym": "ESZ26", "t": 1, "px": 1.0, "sz": 1, "side": "X"}', "trade", "$.side"),
        (b'{"type": "book", "sym": "ESZ26", "t": 1, "bids": [[1.0]], "asks": []}', "book", "$.bids"),
        (b'{"type": "news", "sym": "ESZ26", "t": 1}', "unknown:news", "$.type"),
    ],
)
def test_malformed_messages_name_the_kind_and_location(frame: bytes, kind: str, location: str) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        parse(frame, ts_recv=0)
    assert caught.value.kind == kind
    assert caught.value.location == location


def run_market(seed: int, steps: int = 2000) -> list[dict[str, object]]:
    market = SimulatedMarket(symbols=["ESZ26", "NQZ26"], seed=seed, rate=50)
    now, messages = 0.0, []
    for _ in range(steps):
        messages += market.step(int(now * 1e9))
        now += market.next_gap(now)
    return messages


def test_the_same_seed_gives_the_same_market() -> None:
    assert run_market(3) == run_market(3)
    assert run_market(3) != run_market(4)


def test_the_book_stays_consistent_with_trades_and_quotes() -> None:
    bids: dict[str, dict[float, int]] = {}
    asks: dict[str, dict[float, int]] = {}
    trades = 0
    for message in run_market(11):
        symbol = str(message.get("sym"))
        price = message.get("px")
        if isinstance(price, float):
            assert (price / TICK).is_integer(), "prices are on the 0.25 tick"
        if message["type"] == "book":
            assert len(message["bids"]) == LEVELS  # type: ignore[arg-type]
            bids[symbol] = {level[0]: level[1] for level in message["bids"]}  # type: ignore[attr-defined]
            asks[symbol] = {level[0]: level[1] for level in message["asks"]}  # type: ignore[attr-defined]
        elif symbol not in bids:
            continue
        elif message["type"] == "level":
            side = bids[symbol] if message["side"] == "B" else asks[symbol]
            if message["sz"]:
                side[float(price)] = int(message["sz"])  # type: ignore[arg-type, call-overload]
            else:
                side.pop(float(price), None)  # type: ignore[arg-type]
        elif message["type"] == "trade":
            trades += 1
            best = min(asks[symbol]) if message["side"] == "B" else max(bids[symbol])
            assert price == best, "a buy trades at the best ask, a sell at the best bid"
        elif message["type"] == "quote":
            assert message["bid"] == max(bids[symbol])
            assert message["ask"] == min(asks[symbol])
            assert message["ask"] - message["bid"] == TICK  # type: ignore[operator]
    assert trades > 1000


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=EXCHANGE_TZ)  # type: ignore[arg-type, misc]


@pytest.mark.calendar
@pytest.mark.parametrize(
    ("moment", "session"),
    [
        (ny(2026, 11, 24, 10, 0), Globex.REGULAR),
        (ny(2026, 11, 24, 3, 0), Globex.OVERNIGHT),
        (ny(2026, 11, 24, 17, 30), Globex.CLOSED),  # the daily pause
        (ny(2026, 11, 28, 12, 0), Globex.CLOSED),  # Saturday
        (ny(2026, 11, 29, 17, 59), Globex.CLOSED),
        (ny(2026, 11, 29, 18, 0), Globex.OVERNIGHT),  # Sunday evening open
        (ny(2026, 11, 27, 17, 0), Globex.CLOSED),  # Friday close
    ],
)
def test_globex_hours(moment: datetime, session: Globex) -> None:
    assert globex_session(moment) is session


@pytest.mark.calendar
def test_activity_follows_the_session() -> None:
    market = SimulatedMarket(symbols=["ESZ26"], seed=1, rate=100, sessions=True)
    regular = ny(2026, 11, 24, 10, 0).timestamp()
    overnight = ny(2026, 11, 24, 3, 0).timestamp()
    saturday = ny(2026, 11, 28, 12, 0).timestamp()
    assert market.intensity(regular) == 100  # seed 1 draws no burst here
    assert market.intensity(overnight) == pytest.approx(20)
    assert market.intensity(saturday) == 0
    assert market.next_gap(saturday) == pytest.approx(ny(2026, 11, 29, 18, 0).timestamp() - saturday)
