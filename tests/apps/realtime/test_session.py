"""A resuming connection whose client stalls mid-replay, driven directly: the real session, relay
and Redis, with a client `send` the test holds back. Live frames that pile up during the replay
overflow the hold; the replay then reads them from the stream, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import REGISTRY

from apps.realtime.session import ClientSession
from apps.realtime.topics import TOPICS
from tests.apps.realtime.support import RECEIVE_TIMEOUT, SYMBOL, Writer, trades
from tests.apps.realtime.test_trades import stored_ids


async def until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - a counter and a list to watch, no event to wait on
        await asyncio.sleep(0.01)


def relay_entries() -> float:
    return REGISTRY.get_sample_value("pipeline_ws_relay_entries_total", {"topic": "trades"}) or 0.0


def test_a_stalled_resume_loses_no_live_trade_when_its_hold_overflows() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        writer = Writer()
        history = [await writer.write(trades(1000)) for _ in range(10)]
        reading = asyncio.Event()
        received: list[dict[str, Any]] = []
        closed: list[tuple[int, str]] = []

        async def send(text: str) -> None:
            await reading.wait()  # the client does not read until the test says so
            received.append(orjson.loads(text))

        async def close(code: int, reason: str) -> None:
            closed.append((code, reason))

        session = ClientSession(topic=TOPICS["trades"], send=send, close=close, limit=4)
        session.start()
        try:
            await session.handle(
                orjson.dumps(
                    {"action": "subscribe", "symbols": [SYMBOL], "since": {SYMBOL: f"{history[0]}:499"}}
                ).decode()
            )
            # Live trades while the replay waits for room: more frames than the hold keeps.
            for _ in range(12):
                before = relay_entries()
                await writer.write(trades(3))
                await asyncio.wait_for(until(lambda before=before: relay_entries() > before), RECEIVE_TIMEOUT)
            reading.set()
            expected = len(stored_ids()) - 500
            events = lambda: sum(len(frame.get("events", [])) for frame in received)  # noqa: E731
            # A lost trade shows as a timeout here: the count never arrives.
            await asyncio.wait_for(until(lambda: events() >= expected), RECEIVE_TIMEOUT)
            return received, closed
        finally:
            await session.end()
            await writer.close()

    frames, closed = asyncio.run(scenario())
    assert frames[0] == {"type": "subscribed", "topic": "trades", "symbols": [SYMBOL]}
    ids = [event["id"] for frame in frames[1:] for event in frame["events"]]
    assert ids == stored_ids()[500:], "every trade after the position, once, in order"
    assert closed == []
