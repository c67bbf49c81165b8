"""/ws/trades resumed from every position around the lake / hot-store boundary (issue 12, §5).

A client whose position is the last thing the lake holds before the hot store's first entry has
nothing to get from the lake, but everything after it is still in Redis: it must get all of it,
each trade once, not a "no longer in the hot store" error. Two layouts of the boundary: the hot
store begins right after the last flushed entry, or it still holds flushed entries the lake also
has. Real uvicorn server, real hot-store writer, real flush.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from apps.core import keys
from apps.core.redis import get_redis
from apps.storage.flush import streams_flush
from tests.apps.realtime.support import SYMBOL, Writer, open_ws, recv_json, subscribe, trades

PER_ENTRY = 3
ENTRIES = 6
# Entries [0, BOUNDARY) are only in the lake; the hot store's first entry is BOUNDARY.
BOUNDARY = 3

# (entry, index or None for the whole entry), around the boundary.
POSITIONS = {
    "last-event-of-the-entry-before": (BOUNDARY - 1, PER_ENTRY - 1),
    "whole-entry-before": (BOUNDARY - 1, None),
    "middle-of-the-entry-before": (BOUNDARY - 1, 1),
    "two-entries-before-whole": (BOUNDARY - 2, None),
    "two-entries-before-last-event": (BOUNDARY - 2, PER_ENTRY - 1),
    "first-hot-entry-whole": (BOUNDARY, None),
    "first-hot-entry-first-event": (BOUNDARY, 0),
    "first-hot-entry-last-event": (BOUNDARY, PER_ENTRY - 1),
}


def _after(ids: list[str], entry: int, index: int | None) -> list[str]:
    every = [f"{entry_id}:{i}" for entry_id in ids for i in range(PER_ENTRY)]
    position = entry * PER_ENTRY + (PER_ENTRY - 1 if index is None else index)
    return every[position + 1 :]


LAYOUTS = {"hot-after-lake": False, "hot-overlaps-lake": True}


@pytest.mark.parametrize("case", [(layout, where) for layout in LAYOUTS for where in POSITIONS], ids="/".join)
def test_a_resume_at_the_lake_hot_boundary_gets_every_trade_after_it_exactly_once(
    ws_server: Any, session_cookie: str, settings: Any, tmp_path: Path, case: tuple[str, str]
) -> None:
    settings.LAKE_DIR = tmp_path
    layout, where = case
    flushed_in_hot = LAYOUTS[layout]
    entry, index = POSITIONS[where]

    async def scenario() -> tuple[list[str], list[str], list[dict[str, Any]], str]:
        writer = Writer()
        try:
            ids = [await writer.write(trades(PER_ENTRY)) for _ in range(BOUNDARY)]
            streams_flush(client=get_redis(), lake=tmp_path)
            ids += [await writer.write(trades(PER_ENTRY)) for _ in range(ENTRIES - BOUNDARY)]
            if flushed_in_hot:
                streams_flush(client=get_redis(), lake=tmp_path)
            # What a retention trim leaves: the hot store begins at the boundary entry.
            await writer.client.xtrim(keys.trades(SYMBOL), minid=ids[BOUNDARY], approximate=False)
            since = ids[entry] if index is None else f"{ids[entry]}:{index}"
            expected = _after(ids, entry, index)
            ws = await open_ws(ws_server.url("/ws/trades"), cookie=session_cookie)
            try:
                reply = await subscribe(ws, [SYMBOL], since={SYMBOL: since})
                assert reply["type"] == "subscribed", reply
                # Trades go on arriving during the replay; the last of them ends the collection
                # whether or not the replay sent what it owed.
                live_id = await writer.write(trades(2))
                received: list[str] = []
                others: list[dict[str, Any]] = []
                while f"{live_id}:1" not in received:
                    frame = await recv_json(ws)
                    if frame["type"] == "events":
                        received.extend(event["id"] for event in frame["events"])
                    else:
                        others.append(frame)
                return expected, received, others, live_id
            finally:
                await ws.close()
        finally:
            await writer.close()

    expected, received, others, live_id = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert others == [], f"no error for a position the lake and the hot store cover together: {others}"
    assert received == [*expected, f"{live_id}:0", f"{live_id}:1"], "each trade after the position once, in order"
