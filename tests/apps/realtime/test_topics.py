"""/ws/depth, /ws/gex, /ws/sc and /ws/alerts deliver what the real writers store; a slow depth client
is conflated to the newest frame and told so."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import pytest

from apps.core import keys
from apps.core.codec import loads
from apps.core.redis import get_redis
from apps.gex.services.snapshots import snapshot_record
from apps.gex.sierra import sierra_history_line
from apps.gex.snapshots import GEXSnapshot, StrikeRow, snapshot_encode
from apps.marketdata.blocks import decode_depth
from tests.apps.realtime.support import (
    SYMBOL,
    Writer,
    collect_events,
    depth_snapshot,
    depth_updates,
    open_ws,
    recv_json,
    subscribe,
)


def snapshot(seconds_ago: int, spot: float, *, category: str = "gex_zero") -> GEXSnapshot:
    return GEXSnapshot(
        ticker="ES_SPX",
        package="classic",
        category=category,
        timestamp=int(time.time()) - seconds_ago,
        spot=spot,
        zero_gamma=spot - 10,
        major_pos_vol=spot + 20,
        major_neg_vol=spot - 30,
        sum_gex_vol=1234.5,
        strikes=(StrikeRow(spot - 5, -1.5, 2.0, (1.0, None)), StrikeRow(spot + 5, 3.25, None, ())),
    )


def test_depth_delivers_snapshot_and_update_rows(ws_server: Any, session_cookie: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[str]]:
        writer = Writer()
        ws = await open_ws(ws_server.url("/ws/depth"), cookie=session_cookie)
        try:
            assert await subscribe(ws, ["ESZ26"]) == {"type": "subscribed", "topic": "depth", "symbols": ["ESZ26"]}
            first = await writer.write([depth_snapshot()])
            second = await writer.write(depth_updates(3))
            return await collect_events(ws, count=8), [first, second]
        finally:
            await ws.close()
            await writer.close()

    events, entries = asyncio.run(scenario())
    stored = get_redis().xrange(keys.depth(SYMBOL))
    rows = [
        (entry_id.decode(), index, row)
        for entry_id, fields in stored
        for index, row in enumerate(decode_depth(fields[b"d"]))
    ]
    assert [event["id"] for event in events] == [f"{entry}:{index}" for entry, index, _ in rows]
    assert [(e["op"], e["side"], e["price"], e["size"], e["feed"], e["ts_event"]) for e in events] == [
        (row.op.name.lower(), row.side.name.lower(), row.price, row.size, row.feed, row.ts_event) for _, _, row in rows
    ]
    assert events[0]["op"] == "clear"
    assert [event["id"].rpartition(":")[0] for event in events[5:]] == [entries[1]] * 3


def test_gex_delivers_snapshots_live_and_resumes_after_the_last_id(ws_server: Any, session_cookie: str) -> None:
    first = snapshot_record(snapshot=snapshot(30, 6000.0))
    assert first is not None

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
        live_ws = await open_ws(ws_server.url("/ws/gex"), cookie=session_cookie)
        resume_ws = await open_ws(ws_server.url("/ws/gex"), cookie=session_cookie)
        try:
            assert (await subscribe(live_ws, ["es_spx"]))["symbols"] == ["ES_SPX"]
            recorded = [
                await asyncio.to_thread(snapshot_record, snapshot=snapshot(20, 6001.0)),
                await asyncio.to_thread(snapshot_record, snapshot=snapshot(10, 6002.5)),
            ]
            live = await collect_events(live_ws, count=2)
            await subscribe(resume_ws, ["ES_SPX"], since={"ES_SPX": first.stream_id})
            resumed = await collect_events(resume_ws, count=2)
            return live, resumed, recorded
        finally:
            await live_ws.close()
            await resume_ws.close()

    live, resumed, recorded = asyncio.run(scenario())
    assert [event["id"] for event in live] == [item.stream_id for item in recorded]
    assert resumed == live
    for event, item in zip(live, recorded, strict=True):
        assert {key: value for key, value in event.items() if key != "id"} == loads(snapshot_encode(item.snapshot))
    assert live[1]["spot"] == 6002.5
    assert live[1]["strikes"] == [[6002.5 - 5, -1.5, 2.0, [1.0, None]], [6002.5 + 5, 3.25, None, []]]


def test_sc_delivers_the_sierra_chart_history_line_with_the_levels(ws_server: Any, session_cookie: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        ws = await open_ws(ws_server.url("/ws/sc"), cookie=session_cookie)
        try:
            await subscribe(ws, ["ES_SPX"])
            await asyncio.to_thread(snapshot_record, snapshot=snapshot(5, 6010.25))
            return await collect_events(ws, count=1)
        finally:
            await ws.close()

    (event,) = asyncio.run(scenario())
    stored = snapshot(5, 6010.25)
    stored = msgspec.structs.replace(stored, timestamp=event["timestamp"])
    assert event["line"] == sierra_history_line(stored)
    assert event["line"].startswith(f"{event['timestamp']}.0,6010.25,6000.25,")
    assert (event["spot"], event["zero_gamma"], event["major_pos_vol"], event["major_neg_vol"]) == (
        6010.25,
        6000.25,
        6030.25,
        5980.25,
    )
    assert (event["ticker"], event["package"], event["category"]) == ("ES_SPX", "classic", "gex_zero")


def test_alerts_subscribe_to_everything_and_deliver_the_fired_alerts(ws_server: Any, session_cookie: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], str]:
        ws = await open_ws(ws_server.url("/ws/alerts"), cookie=session_cookie)
        try:
            refused = await subscribe(ws, ["ESZ26"])
            accepted = await subscribe(ws, ["*"])
            entry = get_redis().xadd(
                keys.ALERTS_FIRED, {"rule": "es-above-6000", "symbol": "ESZ26", "message": "ESZ26 traded 6000.25"}
            )
            return refused, accepted, await collect_events(ws, count=1), entry.decode()
        finally:
            await ws.close()

    refused, accepted, events, entry = asyncio.run(scenario())
    assert refused["type"] == "error"
    assert "symbols ['*']" in refused["reason"]
    assert accepted == {"type": "subscribed", "topic": "alerts", "symbols": ["*"]}
    assert events == [{"id": entry, "rule": "es-above-6000", "symbol": "ESZ26", "message": "ESZ26 traded 6000.25"}]


@pytest.mark.parametrize("queue_frames", [10])
def test_a_slow_depth_client_is_conflated_to_the_newest_frame_and_told_what_it_skipped(
    ws_server: Any, session_cookie: str, settings: Any, queue_frames: int
) -> None:
    settings.REALTIME_QUEUE_FRAMES = queue_frames

    async def scenario() -> tuple[list[dict[str, Any]], list[str]]:
        writer = Writer()
        fast = await open_ws(ws_server.url("/ws/depth"), cookie=session_cookie)
        slow = await open_ws(ws_server.url("/ws/depth"), cookie=session_cookie, receive_buffer=4096, max_queue=1)
        try:
            await subscribe(fast, [SYMBOL])
            await subscribe(slow, [SYMBOL])
            entries = []
            for _ in range(400):
                entries.append(await writer.write(depth_updates(100)))
                await collect_events(fast, count=100)
            # Now the slow client reads: what was queued, then a notice and the newest frame.
            frames = []
            while not frames or frames[-1].get("events", [{}])[0].get("id", "").rpartition(":")[0] != entries[-1]:
                frames.append(await recv_json(slow))
            return frames, entries
        finally:
            await fast.close()
            await slow.close()
            await writer.close()

    frames, entries = asyncio.run(scenario())
    notices = [frame for frame in frames if frame["type"] == "conflated"]
    delivered = list(
        dict.fromkeys(
            event["id"].rpartition(":")[0] for frame in frames if frame["type"] == "events" for event in frame["events"]
        )
    )
    assert notices, "the slow client fell behind and was told so"
    assert delivered[-1] == entries[-1], "the newest frame always arrives"
    assert delivered == sorted(delivered, key=lambda entry: tuple(map(int, entry.split("-")))), "never out of order"
    events = [event["id"] for frame in frames if frame["type"] == "events" for event in frame["events"]]
    assert len(set(events)) == len(events), "never twice"
    assert len(delivered) + sum(notice["skipped"] for notice in notices) == len(entries), "every entry accounted for"
    for notice in notices:
        following = frames[frames.index(notice) + 1]
        assert following["type"] == "events"
        assert following["symbol"] == notice["symbol"] == SYMBOL
        assert notice["first_skipped"] in entries
        assert notice["last_skipped"] in entries
