"""`run_streamer uw` end to end: the real runner, client and sink against the fake UW server
(real WebSocket and REST on 127.0.0.1) and a real Redis: joins and acks, routing to the streams,
channels and GEX snapshots, the lake tables through the real flush, dedup, bad input, ping,
reconnect and rejoin, the back-fill of an alert missed during an outage, and Phoenix framing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from django.conf import settings

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.services import runtime_setting_update
from apps.gex.snapshots import snapshot_decode
from apps.marketdata.selectors import dead_letters_list, gaps_list
from apps.storage.connection import lake_connection
from apps.storage.flush import streams_flush
from apps.uw.selectors import flow_alerts_after, option_trades_after
from streamers.config import RunnerConfig, StreamerConfigError
from streamers.feed import FeedClient
from streamers.runner import StreamerRunner
from streamers.uw.client import UWClient
from streamers.uw.config import UWConfig
from streamers.uw.sink import UWSink
from tests.fakes.uw import FAKE_TOKEN, FakeUW, flow_alert, gex_payload, option_trade

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def streamer(fake: FakeUW, channels: list[str] | None, **options: Any) -> tuple[StreamerRunner, UWClient]:
    """The UW streamer on `channels`, or on the runtime setting uw.channels when None."""
    token = options.pop("token", FAKE_TOKEN)
    client = UWClient(
        UWConfig(socket_url=fake.socket_url, api_url=fake.api_url, token=token, redis_url=settings.REDIS_URL, **options)
    )
    runner = StreamerRunner(
        cast(FeedClient[Any], client),
        RunnerConfig(
            name="uw",
            fixed_symbols=tuple(channels) if channels is not None else None,
            subscription_setting="uw.channels",
            status_interval=0.2,
            backoff_initial=0.05,
            backoff_max=0.2,
        ),
        redis_url=settings.REDIS_URL,
        sink=cast(Any, UWSink(redis_url=settings.REDIS_URL)),
    )
    return runner, client


async def run_with(runner: StreamerRunner, body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(runner.run())
    try:
        await body()
    finally:
        runner.stop()
        await asyncio.wait_for(task, timeout=20)


def stream_length(key: str) -> int:
    return int(get_redis().xlen(key))


CHANNELS = ["flow-alerts", "gex:SPX", "news", "option_trades", "price:SPY"]


def test_one_join_per_channel_acks_stored_nowhere_and_every_channel_routed(tmp_path: Path) -> None:
    client = get_redis()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.UW_OPTION_TRADE_CHANNEL)
    pubsub.get_message(timeout=1)
    now_ms = int(time.time() * 1000)

    async def scenario() -> None:
        async with FakeUW() as fake:
            runner, _ = streamer(fake, CHANNELS)

            async def body() -> None:
                await until(lambda: len(fake.connections) == 1 and len(fake.connections[0].joins) == len(CHANNELS))
                await until(lambda: runner.messages >= len(CHANNELS))  # the acks
                assert stream_length(keys.UW_OPTION_TRADES) == 0, "an ack is not data"
                await fake.publish_trade(option_trade(n=1, premium="1234567.89"))
                await fake.publish_alert(flow_alert(n=1))
                await fake.publish("price:SPY", {"close": "562.82", "time": now_ms, "vol": 6015555})
                await fake.publish("news", {"headline": "Fed holds", "timestamp": "2025-06-11T21:40:56Z",
                                            "source": "social-media", "tickers": [], "is_trump_ts": False})  # fmt: skip
                await fake.publish("gex:SPX", gex_payload(at_ms=now_ms))
                await until(
                    lambda: all(
                        stream_length(key) == 1
                        for key in (
                            keys.UW_OPTION_TRADES,
                            keys.UW_FLOW_ALERTS,
                            keys.uw_price("SPY"),
                            keys.UW_NEWS,
                            keys.gex_snapshots("SPX"),
                        )
                    )
                )

            await run_with(runner, body)
            assert fake.connections[0].joins == CHANNELS
            assert [m for m in fake.connections[0].received] == [
                {"channel": channel, "msg_type": "join"} for channel in CHANNELS
            ]
            assert runner.dead_letters == 0

    asyncio.run(scenario())

    [(_, trade)] = option_trades_after(client=client)
    assert trade.premium == Decimal("1234567.89")
    [(_, alert)] = flow_alerts_after(client=client)
    assert (alert.id, alert.underlying_price, alert.origin) == ("alert-1", Decimal("415.981"), "socket")
    note = pubsub.get_message(timeout=2)
    assert note is not None
    assert orjson.loads(note["data"])["count"] == 1
    [(_, fields)] = client.xrange(keys.gex_snapshots("SPX"))
    snapshot = snapshot_decode(fields[b"d"])
    assert (snapshot.source, snapshot.category, snapshot.spot) == ("unusual_whales", "uw_spot", 5912.40)
    assert client.get(keys.gex_snapshot("SPX", "gex_full")) is None, "GEXBot's latest value is left alone"

    streams_flush(client=client, lake=tmp_path)
    db = lake_connection(tmp_path)
    assert db.execute("select id, premium, option_type from uw_option_trades").fetchall() == [
        ("trade-1", Decimal("1234567.89"), "call")
    ]
    assert db.execute("select id, origin from uw_flow_alerts").fetchall() == [("alert-1", "socket")]
    assert db.execute("select source from gex_snapshots").fetchall() == [("unusual_whales",)]


def test_channels_follow_the_runtime_setting_without_a_restart() -> None:
    runtime_setting_update(key="uw.channels", value=["flow-alerts", "option_trades"])

    async def scenario() -> None:
        async with FakeUW() as fake:
            runner, _ = streamer(fake, None)

            async def body() -> None:
                await until(lambda: fake.connections and len(fake.connections[0].joins) == 2)
                await asyncio.to_thread(
                    runtime_setting_update, key="uw.channels", value=["flow-alerts", "news", "option_trades"]
                )
                await until(lambda: "news" in fake.connections[0].joins)
                assert len(fake.connections) == 1, "a new channel is joined on the open socket"
                await asyncio.to_thread(runtime_setting_update, key="uw.channels", value=["news", "option_trades"])
                # UW has no leave: the streamer reconnects and joins what is left.
                await until(lambda: len(fake.connections) == 2 and len(fake.connections[1].joins) == 2)

            await run_with(runner, body)
            assert fake.connections[0].joins == ["flow-alerts", "option_trades", "news"]
            assert fake.connections[1].joins == ["news", "option_trades"]

    asyncio.run(scenario())


def test_a_trade_heard_on_two_channels_and_a_repeated_alert_are_stored_once(tmp_path: Path) -> None:
    channels = ["flow-alerts", "option_trades", "option_trades:UVIX"]

    async def scenario() -> None:
        async with FakeUW() as fake:
            runner, _ = streamer(fake, channels)

            async def body() -> None:
                await until(lambda: fake.connections and len(fake.connections[0].joins) == 3)
                assert await fake.publish_trade(option_trade(n=5)) == 2  # on both channels
                await fake.publish_alert(flow_alert(n=9))
                await fake.publish_alert(flow_alert(n=9))
                await fake.publish_trade(option_trade(n=6))
                await until(lambda: runner.messages >= 3 + 2 + 2 + 2)

            await run_with(runner, body)

    asyncio.run(scenario())
    assert [t.id for _, t in option_trades_after(client=get_redis())] == ["trade-5", "trade-6"]
    assert [a.id for _, a in flow_alerts_after(client=get_redis())] == ["alert-9"]
    streams_flush(client=get_redis(), lake=tmp_path)
    assert lake_connection(tmp_path).execute(
        "select count(*), count(distinct id) from uw_option_trades"
    ).fetchone() == (
        2,
        2,
    )


def test_bad_frames_are_counted_logged_once_per_kind_dead_lettered_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trade = option_trade(n=1)
    without_id = {key: value for key, value in trade.items() if key != "id"}
    number_for_string = {**option_trade(n=2), "premium": 1.0}
    bad = [
        "{not json",
        "{not json either",
        orjson.dumps(["option_trades", without_id]).decode(),
        orjson.dumps(["option_trades", number_for_string]).decode(),
        orjson.dumps(["lit_trades", {"price": "1"}]).decode(),
    ]

    async def scenario() -> StreamerRunner:
        async with FakeUW() as fake:
            runner, _ = streamer(fake, ["option_trades"])

            async def body() -> None:
                await until(lambda: fake.connections and fake.connections[0].joins == ["option_trades"])
                for frame in bad:
                    await fake.send_raw(frame)
                await fake.publish_trade(option_trade(n=3))
                await until(lambda: stream_length(keys.UW_OPTION_TRADES) == 1 and runner.dead_letters == 5)

            await run_with(runner, body)
            return runner

    with caplog.at_level(logging.WARNING):
        runner = asyncio.run(scenario())

    assert runner.dead_letters == 5
    letters = dead_letters_list(source="uw", count=10)
    reasons = sorted(letter["reason"].split(":")[0] for letter in letters)
    assert reasons == ["malformed_frame", "malformed_frame", "missing_field", "unknown_channel", "wrong_type"]
    assert any(letter["raw"] == bad[3] for letter in letters), "the raw frame is kept"
    logged = [r.getMessage() for r in caplog.records if "streamer.dead_letter" in r.getMessage()]
    assert len(logged) == 4, "once per kind"
    assert [t.id for _, t in option_trades_after(client=get_redis())] == ["trade-3"]


def test_silence_is_pinged_a_dead_peer_reconnects_rejoins_every_channel_and_leaves_a_gap() -> None:
    channels = ["flow-alerts", "option_trades"]

    async def scenario() -> None:
        async with FakeUW() as fake:
            runner, _ = streamer(fake, channels, ping_after=0.3, pong_timeout=0.5)

            async def body() -> None:
                await until(lambda: fake.connections and len(fake.connections[0].joins) == 2)
                # Quiet for several ping periods: pongs keep the same connection.
                await until(lambda: runner.messages >= 2 + 4)
                assert (len(fake.connections), runner.reconnects) == (1, 0)
                fake.freeze()  # pings go unanswered now
                await until(lambda: len(fake.connections) == 2 and len(fake.connections[1].joins) == 2)
                await until(lambda: runner.gaps == 1)
                await fake.publish_trade(option_trade(n=1))
                await until(lambda: stream_length(keys.UW_OPTION_TRADES) == 1)

            await run_with(runner, body)
            assert fake.connections[1].joins == channels

    asyncio.run(scenario())
    [gap] = gaps_list(feed="uw")
    assert gap.symbols == channels
    assert "no pong" in gap.reason


def test_the_alert_published_during_an_outage_is_fetched_from_rest_after_reconnecting() -> None:
    base = int(time.time() * 1000) - 60_000
    before, during, after = flow_alert(n=1, executed_at=base), flow_alert(n=2, executed_at=base + 10_000), None

    async def scenario() -> None:
        nonlocal after
        async with FakeUW() as fake:
            runner, client = streamer(fake, ["flow-alerts"])

            async def body() -> None:
                nonlocal after
                await until(lambda: fake.connections and fake.connections[0].joins == ["flow-alerts"])
                await fake.publish_alert(before)
                await until(lambda: stream_length(keys.UW_FLOW_ALERTS) == 1)
                fake.unavailable = True
                await fake.drop()
                await until(lambda: runner.reconnects >= 1)
                assert await fake.publish_alert(during) == 0, "nobody is connected to hear it"
                fake.unavailable = False
                await until(lambda: stream_length(keys.UW_FLOW_ALERTS) == 2)
                after = flow_alert(n=3)
                await fake.publish_alert(after)
                await until(lambda: stream_length(keys.UW_FLOW_ALERTS) == 3)

            await run_with(runner, body)
            assert client.backfills == 1
            assert len(fake.rest_requests) == 1
            assert "newer_than=" in fake.rest_requests[0]

    asyncio.run(scenario())
    alerts = [alert for _, alert in flow_alerts_after(client=get_redis())]
    assert [(a.id, a.origin) for a in alerts] == [("alert-1", "socket"), ("alert-2", "rest"), ("alert-3", "socket")]
    assert len(gaps_list(feed="uw")) == 1


def test_phoenix_framing_joins_heartbeats_routes_and_rejoins_a_crashed_channel() -> None:
    channels = ["flow-alerts", "option_trades"]

    async def scenario() -> None:
        async with FakeUW(idle_timeout=1.0) as fake:
            runner, _ = streamer(fake, channels, protocol="phoenix", heartbeat_interval=0.2)

            async def body() -> None:
                await until(lambda: fake.connections and len(fake.connections[0].joins) == 2)
                connection = fake.connections[0]
                assert connection.protocol == "phoenix"
                assert [m[2:4] for m in connection.received[:2]] == [[c, "phx_join"] for c in channels]
                # Heartbeats keep a socket the server would close after 1 s without inbound frames.
                await until(lambda: connection.heartbeats >= 8)
                assert (len(fake.connections), runner.reconnects) == (1, 0)
                await fake.publish_trade(option_trade(n=1))
                await fake.channel_crash("flow-alerts")
                await until(lambda: connection.joins.count("flow-alerts") == 2)
                await fake.publish_alert(flow_alert(n=1))
                await until(
                    lambda: stream_length(keys.UW_OPTION_TRADES) == 1 and stream_length(keys.UW_FLOW_ALERTS) == 1
                )

            await run_with(runner, body)
            assert runner.dead_letters == 0

    asyncio.run(scenario())


def test_a_refused_token_stops_the_streamer_naming_the_variable_and_is_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "uw-secret-token-that-must-not-leak-81f3"

    async def scenario() -> FakeUW:
        async with FakeUW() as fake:
            runner, _ = streamer(fake, ["option_trades"], token=secret)
            with pytest.raises(StreamerConfigError, match=r"UW_API_TOKEN was refused .* HTTP 401") as refused:
                await asyncio.wait_for(runner.run(), timeout=20)
            assert secret not in str(refused.value)
            return fake

    with caplog.at_level(logging.DEBUG):
        fake = asyncio.run(scenario())
    assert fake.refused == 1, "refused once: not retried"
    # Our own log events (the formatter redacts every line besides: tests/test_secrets_in_logs.py).
    ours = [r for r in caplog.records if r.name.startswith(("streamers", "apps"))]
    assert ours
    assert not [r for r in ours if secret in r.getMessage()]
    status = get_redis().hgetall(keys.streamer("uw"))
    assert all(secret.encode() not in value for value in status.values())
