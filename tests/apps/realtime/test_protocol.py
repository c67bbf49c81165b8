"""The topic protocol: bad messages get an error naming what is wrong and the connection stays
open; aliases resolve to the lead contract; unsubscribe stops a symbol."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apps.core.clock import utc_now
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
