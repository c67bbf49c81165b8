"""A connection's queue: bounded, never waits on offer, conflates or refuses when full."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from apps.realtime.outbox import Outbox
from apps.realtime.topics import TOPICS, Frame


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
