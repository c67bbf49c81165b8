"""The topic protocol: bad messages get an error naming what is wrong and the connection stays
open; aliases resolve to the lead contract; unsubscribe stops a symbol."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.core.clock import to_epoch_ms, utc_now
from apps.core.codec import dumps
from apps.core.positions import StreamPosition
from apps.marketdata.symbols import canonical
from apps.realtime.protocol import ProtocolError, Subscribe, Unsubscribe, message_parse
from apps.realtime.topics import TOPICS
from tests.apps.realtime.support import SYMBOL, Writer, collect_events, open_ws, recv_json, send_json, subscribe, trades


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ('["subscribe"]', "expected a JSON object"),
        ('{"action": "dance", "symbols": ["ESZ26"]}', "action: 'dance' is not one of 'subscribe', 'unsubscribe'"),
        ('{"action": "subscribe"}', "symbols: expected a non-empty list"),
        ('{"action": "subscribe", "symbols": ["ESZ26", 7]}', "symbols[1]: expected a string, got int"),
        ('{"action": "subscribe", "symbols": ["ES Z26!"]}', "symbols[0]: 'ES Z26!' is not"),
        ('{"action": "subscribe", "symbols": ["ESZ26"], "since": {"NQZ26": "1-0"}}', "since['NQZ26']: not among"),
        (
            '{"action": "subscribe", "symbols": ["ESZ26"], "since": {"ESZ26": "yesterday"}}',
            "since['ESZ26']: 'yesterday' is not a trades position",
        ),
        ('{"action": "subscribe", "symbols": ["ESZ26"], "since": ["1-0"]}', "since: expected an object"),
    ],
)
def test_bad_messages_are_refused_naming_the_field(text: str, reason: str) -> None:
    with pytest.raises(ProtocolError, match=None) as refused:
        message_parse(topic=TOPICS["trades"], text=text)
    assert reason in refused.value.message


def test_good_messages_parse_to_canonical_symbols_and_positions() -> None:
    lead = canonical("ES", at=utc_now())
    parsed = message_parse(
        topic=TOPICS["trades"],
        text='{"action": "subscribe", "symbols": ["ES", "esz26", "ESZ26"], "since": {"ES": "1764000000000-3:41", "esz26": "1764000000001-0"}}',
    )
    assert isinstance(parsed, Subscribe)
    assert parsed.symbols == tuple(dict.fromkeys([lead, "ESZ26"]))
    assert parsed.since["ESZ26"] == StreamPosition(1764000000001, 0)
    assert message_parse(topic=TOPICS["trades"], text='{"action": "unsubscribe", "symbols": ["ESZ26"]}') == Unsubscribe(
        ("ESZ26",)
    )
    # GEX ids are plain entry ids: an index is refused.
    with pytest.raises(ProtocolError, match="is not a gex position"):
        message_parse(
            topic=TOPICS["gex"], text='{"action": "subscribe", "symbols": ["SPX"], "since": {"SPX": "1-0:3"}}'
        )


def test_bad_messages_get_an_error_frame_and_the_connection_stays_open(ws_server: Any, session_cookie: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]], str]:
        writer = Writer()
        ws = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
        try:
            errors = []
            for bad in (
                "{oops",
                '{"action": "dance", "symbols": ["ESZ26"]}',
                '{"action": "subscribe", "symbols": ["$$$"]}',
            ):
                await ws.send(bad)
                errors.append(await recv_json(ws))
            await ws.send(b"\x00\x01")
            errors.append(await recv_json(ws))
            subscribed = await subscribe(ws, [SYMBOL])
            entry = await writer.write(trades(2))
            return errors, subscribed, await collect_events(ws, count=2), entry
        finally:
            await ws.close()
            await writer.close()

    errors, subscribed, events, entry = asyncio.run(scenario())
    assert [error["type"] for error in errors] == ["error"] * 4
    assert errors[0]["reason"].startswith("not JSON")
    assert errors[1]["reason"].startswith("action: 'dance'")
    assert errors[2]["reason"].startswith("symbols[0]: '$$$'")
    assert errors[3]["reason"].startswith("binary frames are not understood")
    assert subscribed == {"type": "subscribed", "topic": "trades", "symbols": [SYMBOL]}
    assert [event["id"] for event in events] == [f"{entry}:0", f"{entry}:1"]


def test_an_alias_follows_the_lead_contract_and_unsubscribe_stops_it(ws_server: Any, session_cookie: str) -> None:
    lead = canonical("ES", at=utc_now())

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], str]:
        writer = Writer()
        ws = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
        try:
            subscribed = await subscribe(ws, ["ES", "NQZ26"])
            await send_json(ws, {"action": "unsubscribe", "symbols": ["ES"]})
            unsubscribed = await recv_json(ws)
            # Written after the unsubscribe: only NQ may arrive.
            await writer.write(trades(3, symbol=lead))
            nq_entry = await writer.write(trades(1, symbol="NQZ26"))
            frames = [await recv_json(ws)]
            # Anything the relay handed over with that NQ frame is queued before this reply.
            await send_json(ws, {"action": "unsubscribe", "symbols": ["NQZ26"]})
            while frames[-1]["type"] != "unsubscribed":
                frames.append(await recv_json(ws))
            return subscribed, unsubscribed, frames, nq_entry
        finally:
            await ws.close()
            await writer.close()

    subscribed, unsubscribed, frames, nq_entry = asyncio.run(scenario())
    assert subscribed == {"type": "subscribed", "topic": "trades", "symbols": [lead, "NQZ26"]}
    assert unsubscribed == {"type": "unsubscribed", "topic": "trades", "symbols": [lead]}
    assert [(frame["type"], frame.get("symbol")) for frame in frames] == [("events", "NQZ26"), ("unsubscribed", None)]
    assert [event["id"] for event in frames[0]["events"]] == [f"{nq_entry}:0"]


FUTURE_TOPICS = [("trades", "ESZ26"), ("depth", "ESZ26"), ("gex", "SPX"), ("sc", "SPX"), ("alerts", "*")]
AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _future_positions(topic: str, *, now: datetime) -> list[str]:
    hour_ahead = f"{to_epoch_ms(now + timedelta(hours=1))}-0"
    positions = ["9999999999999999-0", hour_ahead]
    if TOPICS[topic].blocks:
        positions += ["9999999999999999-0:3", f"{hour_ahead}:3"]
    return positions


@pytest.mark.parametrize(("topic", "symbol"), FUTURE_TOPICS)
def test_a_resume_position_in_the_future_is_refused_for_every_topic(topic: str, symbol: str) -> None:
    for position in _future_positions(topic, now=AT):
        text = dumps({"action": "subscribe", "symbols": [symbol], "since": {symbol: position}}).decode()
        with pytest.raises(ProtocolError) as refused:
            message_parse(topic=TOPICS[topic], text=text, now=AT)
        assert f"{position!r} is in the future" in refused.value.message
    # A position a few seconds ahead (Redis's clock may lead the web process's) is still taken.
    near = f"{to_epoch_ms(AT + timedelta(seconds=5))}-0"
    parsed = message_parse(
        topic=TOPICS[topic],
        text=dumps({"action": "subscribe", "symbols": [symbol], "since": {symbol: near}}).decode(),
        now=AT,
    )
    assert isinstance(parsed, Subscribe)
    assert list(parsed.since.values()) == [StreamPosition.parse(near)]


def test_a_future_resume_gets_an_error_frame_on_every_topic(ws_server: Any, session_cookie: str) -> None:
    async def scenario() -> list[tuple[str, str, dict[str, Any]]]:
        answers = []
        for topic, symbol in FUTURE_TOPICS:
            ws = await open_ws(ws_server.url(f"/ws/{topic}"), cookie=session_cookie)
            try:
                answers += [
                    (topic, position, await subscribe(ws, [symbol], since={symbol: position}))
                    for position in _future_positions(topic, now=utc_now())
                ]
            finally:
                await ws.close()
        return answers

    for topic, position, answer in asyncio.run(scenario()):
        assert answer["type"] == "error", (topic, position, answer)
        assert f"{position!r} is in the future" in answer["reason"]
