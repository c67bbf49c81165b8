"""The fake tastytrade is faithful enough that the vendor's own SDK works against it unchanged:
its Session (OAuth refresh), Account, DXLinkStreamer (SETUP, AUTH, channels, COMPACT data,
KEEPALIVE) and orders (dry run, place, status, cancel). The SDK is pointed at the fake the same way
the streamer is: its HTTP client's base URL, which TASTYTRADE_API_URL sets in production too."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx2
import pytest
from tastytrade import Account, DXLinkStreamer, Session
from tastytrade.dxfeed import Quote, TimeAndSale
from tastytrade.instruments import Future
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
)
from tastytrade.utils import TastytradeError

from tests.fakes.tastytrade import FAKE_CLIENT_SECRET, FAKE_REFRESH_TOKEN, FakeTastytrade, quote, time_and_sale
from tests.streamers.tastytrade.helpers import until

pytestmark = pytest.mark.slow


def sdk_session(fake: FakeTastytrade, *, refresh_token: str = FAKE_REFRESH_TOKEN) -> Session:
    session = Session(provider_secret=FAKE_CLIENT_SECRET, refresh_token=refresh_token)
    session._client.base_url = httpx2.URL(fake.base_url)
    return session


def test_the_sdk_streamer_authenticates_subscribes_and_parses_compact_events_from_the_fake() -> None:
    async def scenario(fake: FakeTastytrade) -> tuple[Quote, TimeAndSale]:
        async with sdk_session(fake) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, ["/ESZ26:XCME"])
            await streamer.subscribe(TimeAndSale, ["/ESZ26:XCME"])
            await until(
                lambda: fake.subscribed("Quote", "/ESZ26:XCME") and fake.subscribed("TimeAndSale", "/ESZ26:XCME")
            )
            now = time.time_ns()
            await asyncio.to_thread(
                fake.publish,
                "Quote",
                [quote(symbol="/ESZ26:XCME", ts_ns=now, bid=6000.0, bid_size=12, ask=6000.25, ask_size=9)],
            )
            await asyncio.to_thread(
                fake.publish,
                "TimeAndSale",
                [time_and_sale(symbol="/ESZ26:XCME", ts_ns=now, price=6000.25, size=3, side="BUY", index=42)],
            )
            got_quote = await asyncio.wait_for(streamer.get_event(Quote), 10)
            got_sale = await asyncio.wait_for(streamer.get_event(TimeAndSale), 10)
            return got_quote, got_sale

    with FakeTastytrade() as fake:
        got_quote, got_sale = asyncio.run(scenario(fake))
        first = fake.connections[0].received
    assert [m["type"] for m in first[:2]] == ["SETUP", "AUTH"]
    assert first[1]["token"] == fake.quote_token
    assert any(m["type"] == "KEEPALIVE" for m in first)
    assert got_quote.event_symbol == "/ESZ26:XCME"
    assert (got_quote.bid_price, got_quote.ask_price, got_quote.bid_size) == (Decimal("6000.0"), Decimal("6000.25"), 12)
    assert (got_sale.price, got_sale.size, got_sale.aggressor_side, got_sale.index) == (
        Decimal("6000.25"),
        3,
        "BUY",
        42,
    )
    assert fake.token_grants == 1


def test_a_refused_refresh_token_is_an_sdk_error_naming_the_grant() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        async with sdk_session(fake, refresh_token="not-the-grant") as session:
            await session.refresh()

    with FakeTastytrade() as fake, pytest.raises(TastytradeError, match="invalid_grant"):
        asyncio.run(scenario(fake))


def test_the_sdk_places_dry_run_and_live_orders_reads_their_status_and_the_fake_counts_them() -> None:
    async def scenario(fake: FakeTastytrade) -> tuple[object, object, object, object]:
        async with sdk_session(fake) as session:
            account = (await Account.get(session))[0]
            future = await Future.get(session, "/ESZ6")
            order = LimitOrder(
                time_in_force=OrderTimeInForce.DAY,
                legs=[Leg(instrument_type=InstrumentType.FUTURE, symbol="/ESZ6", action=OrderAction.BUY, quantity=1)],
                price=Decimal("-6000.25"),
            )
            dry = await account.place_order(session, order, dry_run=True)
            placed = await account.place_order(session, order, dry_run=False)
            status = await account.get_order(session, placed.order.id)
            return future, dry, placed, status

    with FakeTastytrade() as fake:
        future, dry, placed, status = asyncio.run(scenario(fake))
        placed_orders = list(fake.placed_orders)
    assert future.streamer_symbol == "/ESZ26:XCME"  # type: ignore[attr-defined]
    assert dry.order.status == OrderStatus.RECEIVED  # type: ignore[attr-defined]
    assert dry.buying_power_effect.change_in_buying_power < 0  # type: ignore[attr-defined]
    assert placed.order.status == OrderStatus.ROUTED  # type: ignore[attr-defined]
    assert status.id == placed.order.id  # type: ignore[attr-defined]
    assert len(placed_orders) == 1, "the dry run is not a placed order"
    assert placed_orders[0]["price"] == "6000.25"
    assert placed_orders[0]["price-effect"] == "Debit"


def test_the_sdk_sees_an_over_long_subscription_closed_with_1009_and_a_cancelled_channel_closed() -> None:
    symbols = [f"T{number:04d}" for number in range(3000)]

    async def too_long(fake: FakeTastytrade) -> None:
        async with sdk_session(fake) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, symbols)
            await asyncio.sleep(5)

    async def cancel(fake: FakeTastytrade) -> bool:
        async with sdk_session(fake) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, ["SPY"])
            await streamer.unsubscribe_all(Quote)
            await until(lambda: "Quote" not in streamer._subscription_state)
            return fake.subscribed("Quote", "SPY")

    with FakeTastytrade(max_message=32 * 1024) as fake:
        with pytest.raises(TastytradeError, match="Subscription message too long"):
            asyncio.run(too_long(fake))
        assert asyncio.run(cancel(fake)) is False
