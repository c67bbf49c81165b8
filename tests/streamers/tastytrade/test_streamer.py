"""`run_streamer tastytrade` end to end: the real runner and client, the fake tastytrade over real
HTTP and WebSocket on 127.0.0.1, a real Redis. What a trader would notice: trades, quotes and books
under canonical symbols, the seed's pub/sub channel, subscriptions that follow the admin, the
feed surviving drops, bad frames and a refused depth entitlement, and the tokens looking after
themselves."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from tastytrade.dxfeed import Greeks, Quote, Summary, TimeAndSale, Trade

from apps.core.redis import get_redis
from apps.core.services import runtime_setting_update
from apps.marketdata.events import Side
from apps.marketdata.selectors import book_at, dead_letters_list, gaps_list, quote_latest, streamer_status, trades_last
from streamers.tastytrade.dxlink import CHANNELS
from streamers.tastytrade.session import CredentialsRefusedError
from tests.fakes.tastytrade import FakeTastytrade, order, quote, time_and_sale
from tests.streamers.tastytrade.helpers import ES, ES_DX, NQ, NQ_DX, make_runner, publish, run_with, subscribed, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_prints_quotes_and_the_order_book_reach_redis_under_canonical_symbols_and_the_seed_channel() -> None:
    """The market stands on Wednesday 2 December 2026, 10:30 New York time (a normal session):
    the events carry that time and the book is read just after them, whatever today's date."""
    pubsub = get_redis().pubsub()
    pubsub.subscribe("market_data:tastytrade:trades")
    wednesday = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
    now = int(wednesday.timestamp()) * 1_000_000_000

    async def scenario(fake: FakeTastytrade) -> None:
        # No trim: it cuts the streams by the wall clock, and this market stands on a set day.
        runner = make_runner(fake, trim_interval=3600)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX), ("Quote", ES_DX), ("Order", ES_DX))
            await publish(
                fake,
                "TimeAndSale",
                [
                    time_and_sale(symbol=ES_DX, ts_ns=now, price=6000.25, size=3, side="BUY", index=1),
                    time_and_sale(symbol=ES_DX, ts_ns=now + 1000, price=6000.0, size=2, side="SELL", index=2),
                ],
            )
            await publish(
                fake, "Quote", [quote(symbol=ES_DX, ts_ns=now, bid=6000.0, bid_size=11, ask=6000.25, ask_size=7)]
            )
            await publish(
                fake,
                "Order",
                [
                    order(symbol=ES_DX, ts_ns=now, index=1, side="BUY", price=6000.0, size=11, flags=0x4 | 0x1),
                    order(symbol=ES_DX, ts_ns=now, index=2, side="BUY", price=5999.75, size=20, flags=0x1),
                    order(symbol=ES_DX, ts_ns=now, index=3, side="SELL", price=6000.25, size=7, flags=0x8),
                ],
            )
            # One level changes after the snapshot: the next book shows it.
            await publish(
                fake, "Order", [order(symbol=ES_DX, ts_ns=now + 5_000_000, index=2, side="BUY", price=5999.75, size=0)]
            )
            await until(lambda: runner.events_written >= 5)

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))

    trades = [item.trade for item in trades_last(symbol=ES)]
    assert [(t.price, t.size, t.side, t.seq, t.feed) for t in trades] == [
        (6000.25, 3, Side.BUY, 1, "tastytrade"),
        (6000.0, 2, Side.SELL, 2, "tastytrade"),
    ]
    assert trades[0].ts_event == now
    assert trades[1].ts_event == now + 1000
    latest = quote_latest(symbol=ES)
    assert latest is not None
    assert (latest.bid_price, latest.bid_size, latest.ask_price, latest.ask_size) == (
        6000.0,
        11,
        6000.25,
        7,
    )
    book = book_at(symbol=ES, at=wednesday + timedelta(milliseconds=5), feed="tastytrade")
    assert book is not None
    assert book.levels() == {"bids": [(6000.0, 11)], "asks": [(6000.25, 7)]}
    published = [m for m in iter(lambda: pubsub.get_message(timeout=1), None) if m["type"] == "message"]
    assert published, "the trades were announced on market_data:tastytrade:trades"


def test_the_handshake_and_feed_setup_are_the_sdks_own_frames_plus_an_order_channel() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)
        await run_with(runner, lambda: subscribed(fake, ("TimeAndSale", ES_DX)))

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
        sent = fake.connections[0].received

    setup, auth = sent[0], sent[1]
    assert setup == {
        "type": "SETUP",
        "channel": 0,
        "keepaliveTimeout": 60,
        # The SDK's 60 s, shortened so the heartbeat watchdog (15 s) hears from a quiet feed.
        "acceptKeepaliveTimeout": 10,
        "version": "0.1-DXF-JS/0.3.0",
    }
    assert auth == {"type": "AUTH", "channel": 0, "token": fake.quote_token}
    feed_setups = {m["channel"]: m for m in sent if m["type"] == "FEED_SETUP"}
    for model in (Quote, TimeAndSale, Summary, Greeks, Trade):
        setup_message = feed_setups[CHANNELS[model.__name__]]
        assert setup_message["acceptDataFormat"] == "COMPACT"
        assert setup_message["acceptEventFields"] == {model.__name__: list(model.model_json_schema()["properties"])}
    assert feed_setups[CHANNELS["Order"]]["acceptEventFields"]["Order"][:4] == [
        "eventSymbol",
        "eventTime",
        "eventFlags",
        "index",
    ]


def test_a_thousand_symbols_are_subscribed_in_chunks_under_the_servers_message_limit() -> None:
    symbols = tuple(f"T{number:04d}" for number in range(1200))

    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, config={"subscription_chunk": 300, "depth": False}, fixed_symbols=symbols)
        await run_with(runner, lambda: subscribed(fake, *(("TimeAndSale", s) for s in symbols)))

    # 1200 items in one FEED_SUBSCRIPTION is ~45 kB: over the fake's 32 kB limit, which closes with 1009.
    with FakeTastytrade(max_message=32 * 1024) as fake:
        asyncio.run(scenario(fake))
        sent = fake.connections[0].received
        assert len(fake.connections) == 1, "no message was too long"
    adds = [m for m in sent if m["type"] == "FEED_SUBSCRIPTION" and m["channel"] == CHANNELS["TimeAndSale"]]
    assert [len(m["add"]) for m in adds] == [300, 300, 300, 300]


def test_an_account_without_depth_streams_the_rest_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, fixed_symbols=(ES, NQ))

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX), ("TimeAndSale", NQ_DX))
            await publish(
                fake,
                "TimeAndSale",
                [time_and_sale(symbol=NQ_DX, ts_ns=time.time_ns(), price=21000.0, size=1, side="BUY", index=7)],
            )
            await until(lambda: runner.events_written >= 1)

        await run_with(runner, body)
        assert runner.reconnects == 0

    with caplog.at_level(logging.WARNING), FakeTastytrade(depth_entitled=False) as fake:
        asyncio.run(scenario(fake))
        assert len(fake.connections) == 1
    assert [item.trade.price for item in trades_last(symbol=NQ)] == [21000.0]
    warnings = [r.getMessage() for r in caplog.records if "tastytrade.depth_not_entitled" in r.getMessage()]
    assert len(warnings) == 1


def test_malformed_frames_are_counted_parked_and_logged_once_per_kind_and_the_feed_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = CHANNELS["TimeAndSale"]
    bad = [
        "{not json",
        "{still not json",
        '{"type":"TELEPORT","channel":0}',
        f'{{"type":"FEED_DATA","channel":{channel},"data":["TimeAndSale",["{ES_DX}",0,0]]}}',
        '{"type":"FEED_DATA","channel":99,"data":["Quote",[]]}',
        f'{{"type":"FEED_CONFIG","channel":{channel},"dataFormat":"COMPACT","eventFields":{{"TimeAndSale":["eventSymbol","brandNewField"]}}}}',
    ]

    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            for text in bad[:-1]:
                await asyncio.to_thread(fake.send_raw, text)
            await publish(
                fake,
                "TimeAndSale",
                [time_and_sale(symbol=ES_DX, ts_ns=time.time_ns(), price=6001.0, size=4, side="SELL", index=9)],
            )
            await until(lambda: runner.dead_letters == 5 and runner.events_written == 1)
            # A FEED_CONFIG naming fields we never asked for: the data that follows is read by its names.
            await asyncio.to_thread(fake.send_raw, bad[-1])
            await until(lambda: runner.dead_letters == 6)
            assert runner.reconnects == 0

        await run_with(runner, body)

    with caplog.at_level(logging.WARNING), FakeTastytrade() as fake:
        asyncio.run(scenario(fake))

    assert [item.trade.price for item in trades_last(symbol=ES)] == [6001.0]
    reasons = [entry["reason"].split(":")[0] for entry in reversed(dead_letters_list(source="tastytrade"))]
    assert reasons == [
        "invalid_json",
        "invalid_json",
        "unknown_message_type",
        "wrong_row_length",
        "unknown_channel",
        "unknown_field",
    ]
    assert dead_letters_list(source="tastytrade")[-1]["raw"] == "{not json"
    logged = [r.getMessage() for r in caplog.records if "streamer.dead_letter" in r.getMessage()]
    assert len(logged) == 5, "each kind once: two invalid_json frames, one line"


def test_symbols_and_on_off_follow_the_admin_without_a_restart() -> None:
    runtime_setting_update(key="marketdata.symbols", value=[ES])

    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, fixed_symbols=None)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            await asyncio.to_thread(runtime_setting_update, key="marketdata.symbols", value=[NQ])
            await subscribed(fake, ("TimeAndSale", NQ_DX), ("Order", NQ_DX))
            await until(lambda: not fake.subscribed("TimeAndSale", ES_DX))
            # The feed's own list, when set, wins over the shared one.
            await asyncio.to_thread(runtime_setting_update, key="brokers.tastytrade_symbols", value=["SPY", "ES"])
            await subscribed(fake, ("TimeAndSale", "SPY"), ("TimeAndSale", ES_DX))
            await until(lambda: not fake.subscribed("TimeAndSale", NQ_DX))
            assert len(fake.connections) == 1, "the new symbols went over the open connection"
            await asyncio.to_thread(runtime_setting_update, key="marketdata.disabled_streamers", value=["tastytrade"])
            await until(lambda: runner.state == "disabled" and not fake.live())
            await asyncio.to_thread(runtime_setting_update, key="marketdata.disabled_streamers", value=[])
            await until(lambda: runner.state == "connected" and len(fake.live()) == 1)

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))


def test_an_operators_resubscribe_sends_every_subscription_again_on_the_open_connection() -> None:
    from apps.marketdata.services.streamer_control import streamer_resubscribe_request

    def adds() -> int:
        return sum(
            1
            for m in fake.connections[0].received
            if m["type"] == "FEED_SUBSCRIPTION" and m["channel"] == CHANNELS["TimeAndSale"] and m.get("add")
        )

    async def scenario() -> None:
        runner = make_runner(fake)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            await asyncio.to_thread(streamer_resubscribe_request, name="tastytrade", requested_by="test")
            await until(lambda: runner.resubscribes == 1 and adds() == 2)

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario())
        assert len(fake.connections) == 1


def test_keepalives_hold_the_connection_open_past_the_servers_timeout() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, config={"keepalive_interval": 0.3})

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            await asyncio.sleep(3.5)  # more than three of the server's 1 s timeouts

        await run_with(runner, body)
        assert runner.reconnects == 0

    with FakeTastytrade(keepalive_timeout=1.0, server_keepalive=0.3) as fake:
        asyncio.run(scenario(fake))
        assert len(fake.connections) == 1
        assert sum(m["type"] == "KEEPALIVE" for m in fake.connections[0].received) >= 5


def test_a_quiet_market_keeps_the_connection_the_server_keepalives_feed_the_watchdog() -> None:
    runtime_setting_update(key="marketdata.heartbeat_timeout_seconds", value=1.5)

    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake, config={"server_keepalive": 1})

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            await asyncio.sleep(4)  # no data at all: only the server's KEEPALIVEs arrive

        await run_with(runner, body)
        assert runner.reconnects == 0

    # The fake's own cadence is 30 s: only the client's acceptKeepaliveTimeout makes it speak up.
    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
        assert len(fake.connections) == 1


def test_a_server_restart_close_1012_reconnects_resubscribes_and_records_one_gap() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            await asyncio.to_thread(fake.close_connections, 1012, "Reconnection is required")
            await until(lambda: len(fake.live()) == 1 and fake.subscribed("TimeAndSale", ES_DX))
            await publish(
                fake,
                "TimeAndSale",
                [time_and_sale(symbol=ES_DX, ts_ns=time.time_ns(), price=6002.0, size=1, side="BUY", index=3)],
            )
            await until(lambda: runner.gaps == 1 and runner.events_written == 1)

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
        assert fake.quote_token_requests == 1, "the quote token (24 h) is reused on the reconnect"
    gaps = gaps_list(feed="tastytrade")
    assert len(gaps) == 1
    assert "1012" in gaps[0].reason


def test_a_quote_token_dxlink_refuses_is_fetched_anew_and_the_feed_resumes() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            fake.quote_token = "dxlink-rotated"
            await asyncio.to_thread(fake.drop_connections)
            await until(lambda: fake.quote_token_requests == 2 and fake.subscribed("TimeAndSale", ES_DX))

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
        refused = [c for c in fake.connections if not c.authorized]
        assert len(refused) == 1, "the old token was tried once, then a new one fetched"


def test_a_session_dxlink_revokes_mid_stream_reconnects_with_a_new_quote_token() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            fake.quote_token = "dxlink-rotated"
            await asyncio.to_thread(fake.send_raw, '{"type":"AUTH_STATE","channel":0,"state":"UNAUTHORIZED"}')
            await until(lambda: len(fake.live()) == 1 and fake.live()[0].number == 2)
            await subscribed(fake, ("TimeAndSale", ES_DX))

        await run_with(runner, body)
        assert runner.reconnects == 1

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))
        assert fake.quote_token_requests == 2
        assert fake.connections[1].authorized


def test_429_on_the_token_endpoint_is_retried_with_backoff_until_it_answers() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)
        await run_with(runner, lambda: subscribed(fake, ("TimeAndSale", ES_DX)))

    with FakeTastytrade() as fake:
        fake.rate_limit(2)
        asyncio.run(scenario(fake))
        assert fake.requests.count(("POST", "/oauth/token")) == 3
        assert fake.token_grants == 1


def test_the_access_token_refreshes_by_itself_while_streaming() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)

        async def body() -> None:
            await subscribed(fake, ("TimeAndSale", ES_DX))
            # 62 s tokens: the SDK's one-minute margin makes each due two seconds after it is granted.
            await until(lambda: fake.token_grants >= 3, within=15)

        await run_with(runner, body)
        assert runner.reconnects == 0

    with FakeTastytrade(access_ttl=62) as fake:
        asyncio.run(scenario(fake))
        assert len(fake.connections) == 1


def test_a_revoked_grant_stops_the_streamer_naming_the_variable_without_retrying() -> None:
    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)
        task = asyncio.create_task(runner.run())
        await subscribed(fake, ("TimeAndSale", ES_DX))
        fake.revoke_refresh_token()
        with pytest.raises(CredentialsRefusedError, match="TASTYTRADE_REFRESH_TOKEN"):
            await asyncio.wait_for(task, timeout=20)
        assert streamer_status(name="tastytrade")["state"] == "stopped"

    with FakeTastytrade(access_ttl=62) as fake:
        asyncio.run(scenario(fake))
        refused = fake.requests.count(("POST", "/oauth/token")) - fake.token_grants
        assert refused == 1, "a refused grant is not tried again"
