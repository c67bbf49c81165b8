"""A venue whose `receive` returns typed objects (as an SDK such as tastytrade's does) runs
through the real runner into the hot store in the real Redis; a sink other than the hot store
gets every event instead."""

from __future__ import annotations

import asyncio
from argparse import ArgumentParser
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from django.conf import settings

from apps.marketdata.events import Event, Side, Trade
from apps.marketdata.selectors import dead_letters_list, streamer_status, trades_last
from apps.marketdata.services.streams import WriteResult
from streamers.config import RunnerConfig, StreamerConfigError
from streamers.feed import FeedExhaustedError, MalformedMessageError, events_of
from streamers.runner import StreamerRunner
from streamers.venue import Venue

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
T0_MS = 1_795_100_400_000  # Thursday 2026-11-19 15:00 UTC, in the regular session


class SdkTrade(pydantic.BaseModel, frozen=True):
    """The shape of tastytrade's DXLink `Trade` event: the venue's symbol, milliseconds,
    `Decimal` prices."""

    event_symbol: str
    time: int
    sequence: int
    price: Decimal
    size: int


class SdkProfile(pydantic.BaseModel, frozen=True):
    """An event kind this venue does not map (dead-lettered, as an unknown frame would be)."""

    event_symbol: str
    description: str


@dataclass(frozen=True)
class TypedConfig:
    exchange: str = "XCME"
    sessions: int = 1

    def __post_init__(self) -> None:
        if not self.exchange.isalpha():
            raise StreamerConfigError(f"--exchange must be letters (a MIC such as XCME), not {self.exchange!r}")


class TypedFeed:
    """Hands out SDK objects, a list at a time, then ends (a finite feed stops the runner)."""

    name = "tastytrade"

    def __init__(self, config: TypedConfig, messages: list[list[SdkTrade | SdkProfile]]) -> None:
        self.config = config
        self.messages = list(messages)
        self.subscribed: list[str] = []

    async def connect(self) -> None:
        return None

    async def subscribe(self, symbols: Sequence[str]) -> None:
        self.subscribed = [f"/{symbol}:{self.config.exchange}" for symbol in symbols]

    async def receive(self) -> list[SdkTrade | SdkProfile]:
        await asyncio.sleep(0)
        if not self.messages:
            raise FeedExhaustedError("end of the scripted session")
        return self.messages.pop(0)

    def parse(self, message: list[SdkTrade | SdkProfile], *, ts_recv: int) -> list[Event]:
        events: list[Event] = []
        for item in message:
            if not isinstance(item, SdkTrade):
                raise MalformedMessageError("unmapped", f"{type(item).__name__} is not mapped", item.event_symbol)
            symbol = item.event_symbol.removeprefix("/").removesuffix(f":{self.config.exchange}")
            ts = item.time * 1_000_000
            events.append(
                Trade(symbol, ts, ts_recv, float(item.price), item.size, Side.UNKNOWN, self.name, item.sequence)
            )
        return events

    async def close(self) -> None:
        return None


def sdk_trade(index: int) -> SdkTrade:
    return SdkTrade(
        event_symbol="/ESZ26:XCME", time=T0_MS + index, sequence=index, price=Decimal("6000.25") + index, size=1 + index
    )


def add_typed_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--exchange", default=TypedConfig.exchange)


def typed_venue(messages: list[list[SdkTrade | SdkProfile]]) -> Venue[TypedConfig]:
    return Venue(
        name="tastytrade",
        help="typed SDK events",
        metrics_port=0,
        config=TypedConfig,
        add_arguments=add_typed_arguments,
        config_from_options=lambda options: TypedConfig(exchange=options["exchange"]),
        client=lambda config: TypedFeed(config, messages),
    )


def runner_config() -> RunnerConfig:
    return RunnerConfig(name="tastytrade", fixed_symbols=("ESZ26",), status_interval=0.2)


def test_typed_sdk_events_run_through_the_runner_into_the_hot_store() -> None:
    messages: list[list[SdkTrade | SdkProfile]] = [
        [sdk_trade(0), sdk_trade(1)],
        [SdkProfile(event_symbol="/ESZ26:XCME", description="E-mini S&P 500")],
        [sdk_trade(2)],
    ]
    client = typed_venue(messages).client_from_options({"exchange": "XCME"})
    runner = StreamerRunner(client, runner_config(), redis_url=settings.REDIS_URL)
    asyncio.run(runner.run())

    stored = [item.trade for item in trades_last(symbol="ESZ26", count=10)]
    assert [(trade.seq, trade.price, trade.size, trade.feed) for trade in stored] == [
        (0, 6000.25, 1, "tastytrade"),
        (1, 6001.25, 2, "tastytrade"),
        (2, 6002.25, 3, "tastytrade"),
    ]
    assert [trade.ts_event for trade in stored] == [(T0_MS + i) * 1_000_000 for i in range(3)]
    assert isinstance(client, TypedFeed)
    assert client.subscribed == ["/ESZ26:XCME"]
    # A typed object the venue cannot map is parked as its repr, with the reason.
    parked = dead_letters_list(source="tastytrade")
    assert [entry["reason"] for entry in parked] == ["unmapped: SdkProfile is not mapped"]
    assert "E-mini S&P 500" in parked[0]["raw"]
    assert streamer_status(name="tastytrade")["events_written"] == "3"


def test_a_venue_config_is_frozen_and_refuses_a_bad_option_by_name() -> None:
    venue = typed_venue([])
    with pytest.raises(StreamerConfigError, match=r"--exchange must be letters .* not 'X-CME'"):
        venue.client_from_options({"exchange": "X-CME"})
    config = venue.config_from_options({"exchange": "XEUR"})
    with pytest.raises(AttributeError):
        config.exchange = "XCME"  # type: ignore[misc]


class ListSink:
    """A sink of our own: keeps each batch and says it wrote all of it."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []
        self.closed = 0

    async def write(self, events: Sequence[Event]) -> WriteResult:
        self.batches.append(list(events))
        return WriteResult(trades=sum(isinstance(event, Trade) for event in events))

    async def close(self) -> None:
        self.closed += 1


class EventFeed:
    """A client whose `receive` already returns normalized events: its parse is `events_of`."""

    name = "tastytrade"

    def __init__(self, messages: list[list[Any]]) -> None:
        self.messages = messages

    async def connect(self) -> None:
        return None

    async def subscribe(self, symbols: Sequence[str]) -> None:
        return None

    async def receive(self) -> list[Any]:
        await asyncio.sleep(0)
        if not self.messages:
            raise FeedExhaustedError("done")
        return self.messages.pop(0)

    parse = staticmethod(events_of)

    async def close(self) -> None:
        return None


def test_a_sink_other_than_the_hot_store_gets_every_event_in_order_and_is_closed() -> None:
    events = [
        Trade("NQZ26", (T0_MS + i) * 1_000_000, (T0_MS + i) * 1_000_000, 21000.0 + i, 1, Side.BUY, "tastytrade", i)
        for i in range(5)
    ]
    sink = ListSink()
    runner = StreamerRunner(
        EventFeed([events[:2], ["not an event"], events[2:]]),
        RunnerConfig(name="tastytrade", fixed_symbols=("NQZ26",), batch_size=3, status_interval=0.2),
        redis_url=settings.REDIS_URL,
        sink=sink,
    )
    asyncio.run(runner.run())

    assert [event for batch in sink.batches for event in batch] == events
    assert max(len(batch) for batch in sink.batches) <= 3
    assert sink.closed == 1
    assert runner.events_written == 5
    assert trades_last(symbol="NQZ26") == [], "nothing went to the hot store"
    assert [entry["reason"] for entry in dead_letters_list(source="tastytrade")] == [
        "not_an_event: str is not an event"
    ]
