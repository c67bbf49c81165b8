"""/ws/trades end to end: a real uvicorn server, the `websockets` client, the real hot-store writer.

Live delivery, resuming from the last id without gap or duplicate (also from inside a block and
while trades keep arriving), a position the hot store dropped, and a slow client that is cut off
while a fast one keeps everything.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.selectors import MAX_PAGE, trades_between, trades_last
from apps.storage.flush import streams_flush
from tests.apps.realtime.support import (
    SYMBOL,
    Writer,
    collect_events,
    open_ws,
    recv_json,
    subscribe,
    trades,
)

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def stored_ids() -> list[str]:
    """Every trade id in the hot store, in stream order."""
    ids: list[str] = []
    cursor = None
    while True:
        page = trades_between(
            symbol=SYMBOL,
            start=datetime(2020, 1, 1, tzinfo=UTC),
            end=datetime(2100, 1, 1, tzinfo=UTC),
            cursor=cursor,
            limit=MAX_PAGE,
        )
        ids.extend(stored.id for stored in page.trades)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def metric(server: Any, name: str, **labels: str) -> float:
    """A sample from the server's own /metrics page."""
    with urllib.request.urlopen(server.http("/metrics"), timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return float(sample.value)
    return 0.0


def test_live_trades_arrive_in_order_with_their_ids(ws_server: Any, session_cookie: str) -> None:
    sent_before = metric(ws_server, "pipeline_ws_events_sent_total", topic="trades")
    frames_before = metric(ws_server, "pipeline_ws_send_latency_seconds_count", topic="trades")
    end_to_end_before = metric(ws_server, "pipeline_ws_exchange_to_send_seconds_count", topic="trades")

    async def scenario() -> tuple[list[dict[str, Any]], float]:
        writer = Writer()
        ws = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
        try:
            assert await subscribe(ws, [SYMBOL]) == {"type": "subscribed", "topic": "trades", "symbols": [SYMBOL]}
            for size in (1, 5, 40, 3):
                await writer.write(trades(size))
            events = await collect_events(ws, count=49)
            clients = await asyncio.to_thread(metric, ws_server, "pipeline_ws_clients", topic="trades")
            return events, clients
        finally:
            await ws.close()
            await writer.close()

    events, clients = run(scenario())
    stored = trades_last(symbol=SYMBOL, count=100)
    assert len(stored) == 49
    assert [event["id"] for event in events] == [item.id for item in stored]
    assert [(e["ts_event"], e["price"], e["size"], e["side"], e["feed"]) for e in events] == [
        (item.trade.ts_event, item.trade.price, item.trade.size, item.trade.side.name.lower(), "test")
        for item in stored
    ]
    assert clients >= 1
    assert metric(ws_server, "pipeline_ws_events_sent_total", topic="trades") - sent_before == 49
    # Every live frame of trades carries exchange times: the end-to-end latency is measured for each.
    frames = metric(ws_server, "pipeline_ws_send_latency_seconds_count", topic="trades") - frames_before
    assert frames >= 1
    assert metric(ws_server, "pipeline_ws_exchange_to_send_seconds_count", topic="trades") - end_to_end_before == frames


@pytest.mark.parametrize("queue_frames", [500, 8])
def test_a_client_that_reconnects_with_its_last_id_gets_every_trade_exactly_once(
    ws_server: Any, session_cookie: str, settings: Any, queue_frames: int
) -> None:
    """The done-when test: trades keep being written while the client receives part of the stream,
    goes away in the middle of a block, and comes back with the last id it processed. With a
    small queue, the live frames held during the replay overflow and the replay reads them from
    the stream instead."""
    settings.REALTIME_QUEUE_FRAMES = queue_frames
    rng = random.Random(5)  # noqa: S311 - test data
    sizes = [rng.randint(1, 30) for _ in range(800)]
    total = sum(sizes)
    url = ws_server.url("/ws/trades")

    async def scenario() -> tuple[list[str], list[str]]:
        writer = Writer()
        written = {"batches": 0, "wait_for": len(sizes)}
        progressed = asyncio.Event()

        async def write_all() -> None:
            for size in sizes:
                await writer.write(trades(size))
                written["batches"] += 1
                if written["batches"] >= written["wait_for"]:
                    progressed.set()
                await asyncio.sleep(0.001)
            progressed.set()

        first_ws = await open_ws(url, cookie=session_cookie)
        await subscribe(first_ws, [SYMBOL])
        task = asyncio.create_task(write_all())
        first: list[dict[str, Any]] = []
        last_frame: list[dict[str, Any]] = []
        while len(first) < 400:
            frame = await recv_json(first_ws)
            assert frame["type"] == "events", frame
            last_frame = frame["events"]
            first.extend(last_frame)
        # The client processed only half of its last frame before it went away.
        seen = first[: len(first) - len(last_frame) // 2]
        await first_ws.close()
        assert not task.done(), "the writer must still be writing when the client leaves"
        # Trades go on being written while the client is away.
        written["wait_for"] = written["batches"] + 250
        await progressed.wait()

        # Back with a small socket buffer, and slow to start reading: the replay waits for room
        # while live frames keep arriving.
        second_ws = await open_ws(url, cookie=session_cookie, receive_buffer=4096, max_queue=1)
        reply = await subscribe(second_ws, [SYMBOL], since={SYMBOL: seen[-1]["id"]})
        assert reply["type"] == "subscribed", reply
        progressed.clear()
        written["wait_for"] = written["batches"] + 100
        await progressed.wait()
        resumed: list[dict[str, Any]] = []
        while len(seen) + len(resumed) < total:
            frame = await recv_json(second_ws)
            assert frame["type"] == "events", frame
            resumed.extend(frame["events"])
        await task
        await second_ws.close()
        await writer.close()
        return [e["id"] for e in seen], [e["id"] for e in resumed]

    seen, resumed = run(scenario())
    everything = stored_ids()
    assert len(everything) == total
    assert seen + resumed == everything, "each trade exactly once, in stream order, no gap"
    assert seen
    assert resumed


def test_resume_from_inside_a_block_sends_the_rest_of_it_then_live(ws_server: Any, session_cookie: str) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str], list[str], str]:
        writer = Writer()
        ids = [await writer.write(trades(5)) for _ in range(4)]
        ws = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
        whole = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
        try:
            await subscribe(ws, [SYMBOL], since={SYMBOL: f"{ids[1]}:2"})
            replayed = await collect_events(ws, count=12)
            # A plain entry id means the whole entry was seen.
            await subscribe(whole, [SYMBOL], since={SYMBOL: ids[3]})
            live_id = await writer.write(trades(2))
            live = await collect_events(ws, count=2)
            whole_live = await collect_events(whole, count=2)
            return ids, [e["id"] for e in replayed], [e["id"] for e in live], [e["id"] for e in whole_live], live_id
        finally:
            await ws.close()
            await whole.close()
            await writer.close()

    ids, replayed, live, whole_live, live_id = run(scenario())
    assert replayed == [f"{ids[1]}:3", f"{ids[1]}:4"] + [f"{entry}:{i}" for entry in ids[2:] for i in range(5)]
    assert live == [f"{live_id}:0", f"{live_id}:1"]
    assert whole_live == live


async def refused_resume(
    url: str, cookie: str, prepare: Callable[[Writer], Awaitable[list[str]]]
) -> tuple[list[str], dict[str, Any], list[str], str]:
    """`prepare` writes entries and returns their ids; a client then resumes from the second
    trade of the first entry. The reply it reads first, the ids of two trades written after it,
    and their entry."""
    writer = Writer()
    ids = await prepare(writer)
    ws = await open_ws(url, cookie=cookie)
    try:
        await subscribe(ws, [SYMBOL], since={SYMBOL: f"{ids[0]}:1"})
        error = await recv_json(ws)
        live_id = await writer.write(trades(2))
        live = await collect_events(ws, count=2)
        return ids, error, [e["id"] for e in live], live_id
    finally:
        await ws.close()
        await writer.close()


def test_a_position_the_hot_store_dropped_gets_an_error_and_the_client_continues_live(
    ws_server: Any, session_cookie: str
) -> None:
    async def prepare(writer: Writer) -> list[str]:
        ids = [await writer.write(trades(3)) for _ in range(5)]
        await writer.client.xtrim(keys.trades(SYMBOL), minid=ids[2], approximate=False)
        return ids

    ids, error, live, live_id = run(refused_resume(ws_server.url("/ws/trades"), session_cookie, prepare))
    assert error["type"] == "error"
    assert f"position {ids[0]}:1 of {SYMBOL} is no longer in the hot store" in error["reason"]
    assert "/api/ticks" in error["reason"]
    assert live == [f"{live_id}:0", f"{live_id}:1"]


@pytest.mark.parametrize("whole_entry", [False, True], ids=["inside-an-entry", "a-whole-entry"])
def test_a_position_the_hot_store_dropped_is_resumed_from_the_lake_without_gap_or_duplicate(
    ws_server: Any, session_cookie: str, settings: Any, tmp_path: Path, whole_entry: bool
) -> None:
    """The hot store was trimmed after a flush: the trades after the client's position come from
    the lake (the same ids), then from the hot store (which still holds flushed entries the lake
    also has: sent once), then live. A position without an index means the whole entry was seen."""
    settings.LAKE_DIR = tmp_path

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        writer = Writer()
        ids = [await writer.write(trades(3)) for _ in range(5)]
        streams_flush(client=get_redis(), lake=tmp_path)  # all five entries are in the lake
        await writer.client.xtrim(keys.trades(SYMBOL), minid=ids[3], approximate=False)
        ws = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
        try:
            since = ids[0] if whole_entry else f"{ids[0]}:1"
            await subscribe(ws, [SYMBOL], since={SYMBOL: since})
            replayed = await collect_events(ws, count=12 if whole_entry else 13)
            live_id = await writer.write(trades(2))
            live = await collect_events(ws, count=2)
            return ids, [e["id"] for e in replayed + live], [live_id]
        finally:
            await ws.close()
            await writer.close()

    ids, received, (live_id,) = run(scenario())
    expected = ([] if whole_entry else [f"{ids[0]}:2"]) + [f"{entry}:{i}" for entry in ids[1:] for i in range(3)]
    assert received == [*expected, f"{live_id}:0", f"{live_id}:1"]


def test_a_position_purged_from_the_lake_too_gets_the_error_not_a_silent_gap(
    ws_server: Any, session_cookie: str, settings: Any, tmp_path: Path
) -> None:
    """The client's entry was flushed, then purged from the lake (retention); later entries are
    in the lake. Resuming from the lake would skip what was purged: the client is told instead."""
    settings.LAKE_DIR = tmp_path

    async def prepare(writer: Writer) -> list[str]:
        ids = [await writer.write(trades(3)) for _ in range(2)]
        streams_flush(client=get_redis(), lake=tmp_path)
        shutil.rmtree(tmp_path / "tick_data")  # as a retention purge would
        ids += [await writer.write(trades(3)) for _ in range(3)]
        streams_flush(client=get_redis(), lake=tmp_path)
        await writer.client.xtrim(keys.trades(SYMBOL), minid=ids[3], approximate=False)
        return ids

    ids, error, live, live_id = run(refused_resume(ws_server.url("/ws/trades"), session_cookie, prepare))
    assert error["type"] == "error", error
    assert f"position {ids[0]}:1 of {SYMBOL} is no longer in the hot store" in error["reason"]
    assert live == [f"{live_id}:0", f"{live_id}:1"]


def test_a_resume_further_behind_than_the_limit_is_refused_naming_the_history_endpoint(
    ws_server: Any, session_cookie: str, settings: Any, tmp_path: Path
) -> None:
    settings.LAKE_DIR = tmp_path
    settings.REALTIME_RESUME_MAX_TRADES = 4

    async def prepare(writer: Writer) -> list[str]:
        ids = [await writer.write(trades(3)) for _ in range(5)]
        streams_flush(client=get_redis(), lake=tmp_path)
        await writer.client.xtrim(keys.trades(SYMBOL), minid=ids[3], approximate=False)
        return ids

    ids, error, live, live_id = run(refused_resume(ws_server.url("/ws/trades"), session_cookie, prepare))
    assert error["type"] == "error"
    assert f"7 trades after {ids[0]}:1, more than a resume sends (4)" in error["reason"]
    assert "/api/ticks" in error["reason"]
    assert live == [f"{live_id}:0", f"{live_id}:1"]


@pytest.mark.parametrize("queue_frames", [20])
def test_a_slow_client_is_closed_with_4008_while_a_fast_one_gets_everything(
    ws_server: Any, session_cookie: str, settings: Any, queue_frames: int
) -> None:
    settings.REALTIME_QUEUE_FRAMES = queue_frames
    url = ws_server.url("/ws/trades")
    disconnects_before = metric(ws_server, "pipeline_ws_slow_disconnects_total", topic="trades")

    async def scenario() -> tuple[list[str], list[str], Any, int]:
        writer = Writer()
        fast = await open_ws(url, cookie=session_cookie)
        # Never reads until the end: a small socket buffer and a one-frame client queue make the
        # server's writes back up quickly.
        slow = await open_ws(url, cookie=session_cookie, receive_buffer=4096, max_queue=1)
        await subscribe(fast, [SYMBOL])
        await subscribe(slow, [SYMBOL])
        fast_events: list[dict[str, Any]] = []
        written = 0

        async def drain_slow() -> tuple[list[dict[str, Any]], Any]:
            events: list[dict[str, Any]] = []
            try:
                while True:
                    frame = await recv_json(slow)
                    if frame["type"] == "events":
                        events.extend(frame["events"])
            except ConnectionClosed as error:
                return events, error.rcvd

        slow_reader: asyncio.Task[tuple[list[dict[str, Any]], Any]] | None = None
        extra_after_drop = 3  # batches written after the drop: the fast client is unaffected
        for _ in range(2000):
            written += 300
            await writer.write(trades(300))
            # The fast client keeps up: it has everything before the next batch is written.
            fast_events.extend(await collect_events(fast, count=written - len(fast_events)))
            if slow_reader is None:
                # The server runs in this process: read its counter directly. Fetching /metrics
                # each round makes the test slow enough (late in a full run, with a large
                # registry) for the server's keepalive ping to drop the unread client first.
                dropped = REGISTRY.get_sample_value("pipeline_ws_slow_disconnects_total", {"topic": "trades"}) or 0.0
                if dropped > disconnects_before:
                    # Read what reached the slow client, and its close frame, from now on: the
                    # server's close handshake waits only so long for a client that never reads.
                    slow_reader = asyncio.create_task(drain_slow())
            else:
                extra_after_drop -= 1
                if extra_after_drop == 0:
                    break
        assert slow_reader is not None, "the slow client was never closed"
        slow_events, closed = await asyncio.wait_for(slow_reader, timeout=60)
        await fast.close()
        await writer.close()
        return [e["id"] for e in fast_events], [e["id"] for e in slow_events], closed, written

    fast_ids, slow_ids, closed, written = run(scenario())
    everything = stored_ids()
    assert len(everything) == written
    assert fast_ids == everything, "the fast client lost nothing"
    # The close frame queues behind what is already on its way; the client reads from the drop on.
    assert closed is not None, "the slow client got no close frame"
    assert (closed.code, closed.reason) == (4008, "slow consumer")
    assert 0 < len(slow_ids) < len(everything)
    assert slow_ids == everything[: len(slow_ids)], (
        "what the slow client got is gapless: it can resume from its last id"
    )
    assert metric(ws_server, "pipeline_ws_slow_disconnects_total", topic="trades") == disconnects_before + 1
