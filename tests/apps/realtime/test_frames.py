"""Frames from stream entries: each entry decoded once, entries read together sent together within
the size limits, and a frame trimmed of the entries a resuming client already has."""

from __future__ import annotations

from typing import Any

import orjson

from apps.marketdata.blocks import encode_trades
from apps.marketdata.events import Side
from apps.realtime import topics
from apps.realtime.topics import TOPICS
from tests.factories import ns, trade

MS, MICROSECOND = 0.001, 0.000_001


def entry(ms: int, count: int) -> tuple[str, dict[bytes, bytes]]:
    """Stream entry `ms`-0: `count` trades a microsecond apart from `ms` milliseconds after T0."""
    trades = [
        trade(ms * MS + i * MICROSECOND, 6000.25, size=1 + i, seq=i, side=Side.SELL, received_after_ns=0)
        for i in range(count)
    ]
    return f"{ms}-0", {b"n": str(count).encode(), b"d": encode_trades(trades)}


def ids(frame: Any) -> list[str]:
    return [event["id"] for event in orjson.loads(frame.text)["events"]]


def test_entries_read_together_make_one_frame_with_every_event_and_its_id() -> None:
    trades = TOPICS["trades"]
    pieces = trades.pieces("ESZ26", [entry(1, 2), entry(2, 3)], skip=("1-0", 0))
    (frame,) = trades.frames("ESZ26", pieces, live=True)
    body = orjson.loads(frame.text)
    assert {key: body[key] for key in ("type", "topic", "symbol")} == {
        "type": "events",
        "topic": "trades",
        "symbol": "ESZ26",
    }
    assert ids(frame) == ["1-0:1", "2-0:0", "2-0:1", "2-0:2"]
    assert body["events"][1] == {
        "id": "2-0:0",
        "ts_event": ns(2 * MS),
        "price": 6000.25,
        "size": 1,
        "side": "sell",
        "feed": "test",
    }
    assert (frame.first, frame.entry, frame.events) == ((1, 0), (2, 0), 4)


def test_a_large_read_is_split_at_entry_boundaries() -> None:
    trades = TOPICS["trades"]
    size = topics.MAX_FRAME_EVENTS // 2
    frames = trades.frames("ESZ26", trades.pieces("ESZ26", [entry(ms, size) for ms in (1, 2, 3)]), live=True)
    assert [(frame.first, frame.entry, frame.events) for frame in frames] == [
        ((1, 0), (2, 0), 2 * size),
        ((3, 0), (3, 0), size),
    ]
    assert [len(ids(frame)) for frame in frames] == [2 * size, size]
    assert all(len(frame.text) <= topics.MAX_FRAME_BYTES + 200 for frame in frames)


def test_a_frame_is_trimmed_of_the_entries_a_client_already_has() -> None:
    trades = TOPICS["trades"]
    (frame,) = trades.frames("ESZ26", trades.pieces("ESZ26", [entry(ms, 2) for ms in (1, 2, 3)]), live=True)
    trimmed = trades.after(frame, (2, 0))
    assert trimmed is not None
    assert ids(trimmed) == ["3-0:0", "3-0:1"]
    assert (trimmed.first, trimmed.entry, trimmed.events) == ((3, 0), (3, 0), 2)
    assert trades.after(frame, (3, 0)) is None
    assert trades.after(frame, (0, 5)) is frame


def test_an_undecodable_entry_is_left_out_and_the_rest_delivered() -> None:
    trades = TOPICS["trades"]
    pieces = trades.pieces("ESZ26", [entry(1, 1), ("2-0", {b"d": b"not a block"}), ("3-0", {}), entry(4, 1)])
    assert [piece.entry for piece in pieces] == [(1, 0), (4, 0)]
