"""A connection's queue: bounded, never waits on offer, conflates or refuses when full."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from apps.realtime.outbox import Outbox
from apps.realtime.topics import MAX_FRAME_EVENTS, TOPICS, Frame, piece_of


def frame(symbol: str, ms: int) -> Frame:
    return Frame(f"{symbol}@{ms}", symbol, (ms, 0), 2, live=True, first=(ms, 0))


async def drain(outbox: Outbox, count: int) -> list[str]:
    return [(await asyncio.wait_for(outbox.get(), 5)).text for _ in range(count)]


def test_a_full_trades_queue_refuses_the_next_frame() -> None:
    async def scenario() -> tuple[list[bool], list[str]]:
        outbox = Outbox(topic=TOPICS["trades"], limit=3)
        accepted = [outbox.offer(frame("ESZ26", ms)) for ms in range(1, 5)]
        return accepted, await drain(outbox, 3)

    accepted, sent = asyncio.run(scenario())
    assert accepted == [True, True, True, False]
    assert sent == ["ESZ26@1", "ESZ26@2", "ESZ26@3"]


def test_a_full_depth_queue_keeps_the_newest_frame_per_symbol_and_says_what_it_skipped() -> None:
    async def scenario() -> list[str]:
        outbox = Outbox(topic=TOPICS["depth"], limit=2)
        for ms in range(1, 7):
            assert outbox.offer(frame("ESZ26", ms))
        assert outbox.offer(frame("NQZ26", 100))
        assert len(outbox) == 4  # two queued, one waiting per symbol
        return await drain(outbox, 5)

    sent = asyncio.run(scenario())
    assert sent[:2] == ["ESZ26@1", "ESZ26@2"]
    notice = orjson.loads(sent[2])
    assert notice == {
        "type": "conflated",
        "topic": "depth",
        "symbol": "ESZ26",
        "skipped": 3,
        "skipped_events": 6,
        "first_skipped": "3-0",
        "last_skipped": "5-0",
        "reason": "slow consumer: only the newest frame of this symbol follows",
    }
    # NQ's only frame waited but nothing of it was skipped: no notice.
    assert sent[3:] == ["ESZ26@6", "NQZ26@100"]


def test_put_waits_for_room_and_leaves_some_for_live_frames() -> None:
    async def scenario() -> tuple[bool, bool, list[str]]:
        outbox = Outbox(topic=TOPICS["trades"], limit=4)
        await outbox.put(frame("ESZ26", 1), keep_free=2)
        await outbox.put(frame("ESZ26", 2), keep_free=2)
        third = asyncio.create_task(outbox.put(frame("ESZ26", 3), keep_free=2))
        await asyncio.sleep(0.05)
        waited = not third.done()
        # The room kept free still takes live frames.
        live = outbox.offer(frame("NQZ26", 9))
        sent = await drain(outbox, 2)
        await asyncio.wait_for(third, 5)
        return waited, live, sent + await drain(outbox, 2)

    waited, live, sent = asyncio.run(scenario())
    assert waited, "a replay frame waits while the queue is half full"
    assert live
    assert sent == ["ESZ26@1", "ESZ26@2", "NQZ26@9", "ESZ26@3"]


def test_a_queue_of_fewer_than_two_frames_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="REALTIME_QUEUE_FRAMES must be at least 2"):
        Outbox(topic=TOPICS["trades"], limit=1)


def trades(ms: int, count: int, symbol: str = "ESZ26") -> Frame:
    """A live trades frame of one stream entry holding `count` trades, as the relay builds it."""
    events = [
        {"id": f"{ms}-0:{index}", "ts_event": ms * 1_000_000 + index, "price": 6000.25, "size": 1, "side": "buy"}
        for index in range(count)
    ]
    return TOPICS["trades"].frames(symbol, [piece_of(f"{ms}-0", events)], live=True)[0]


def ids(text: str) -> list[str]:
    message = orjson.loads(text)
    assert message["type"] == "events"
    return [event["id"] for event in message["events"]]


def test_a_client_behind_the_feed_gets_the_frames_queued_meanwhile_in_one_message() -> None:
    async def scenario() -> list[str]:
        outbox = Outbox(topic=TOPICS["trades"], limit=10)
        for ms in (1, 2, 3):
            assert outbox.offer(trades(ms, 2))
        return await drain(outbox, 1)

    (sent,) = asyncio.run(scenario())
    assert ids(sent) == ["1-0:0", "1-0:1", "2-0:0", "2-0:1", "3-0:0", "3-0:1"]


def test_a_client_keeping_up_gets_each_frame_as_it_comes() -> None:
    async def scenario() -> list[str]:
        outbox = Outbox(topic=TOPICS["trades"], limit=10)
        sent = []
        for ms in (1, 2):
            waiting = asyncio.create_task(outbox.get())
            await asyncio.sleep(0)  # the sender waits on an empty queue
            assert outbox.offer(trades(ms, 1))
            sent.append((await asyncio.wait_for(waiting, 5)).text)
        return sent

    assert [ids(text) for text in asyncio.run(scenario())] == [["1-0:0"], ["2-0:0"]]


def test_merging_stops_at_another_symbol_a_control_message_and_the_frame_size_limit() -> None:
    async def scenario() -> list[str]:
        outbox = Outbox(topic=TOPICS["trades"], limit=10)
        assert outbox.offer(trades(1, 1))
        assert outbox.offer(trades(2, 1, "NQZ26"))
        assert outbox.offer(trades(3, 1))
        await outbox.put(Frame('{"type":"notice"}'))
        assert outbox.offer(trades(4, MAX_FRAME_EVENTS - 1))
        assert outbox.offer(trades(5, 2))  # together over the limit: two messages
        return await drain(outbox, 6)

    sent = asyncio.run(scenario())
    assert [ids(text) for text in sent[:3]] == [["1-0:0"], ["2-0:0"], ["3-0:0"]]
    assert sent[3] == '{"type":"notice"}'
    assert len(ids(sent[4])) == MAX_FRAME_EVENTS - 1
    assert ids(sent[5]) == ["5-0:0", "5-0:1"]
