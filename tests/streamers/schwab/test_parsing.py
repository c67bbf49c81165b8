"""Schwab frames -> events, without a socket: changed-fields rows merged per symbol, trades from
volume rises (never twice), books, minute bars, and malformed frames refused with their kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.marketdata.events import DepthSnapshot, Quote, Side, Trade
from streamers.feed import MalformedMessageError
from streamers.schwab.parsing import SchwabParser

KEYS = {"/ESZ26": "ESZ26", "AAPL": "AAPL"}


def parser() -> SchwabParser:
    def canonical_of(key: str) -> str:
        if key not in KEYS:
            raise ValueError(f"unknown symbol {key!r}")
        return KEYS[key]

    return SchwabParser(canonical_of=canonical_of)


def frame(service: str, *rows: dict[str, Any], timestamp: int = 1_780_000_000_000) -> bytes:
    return json.dumps(
        {"data": [{"service": service, "timestamp": timestamp, "command": "SUBS", "content": list(rows)}]}
    ).encode()


FULL = {
    "key": "/ESZ26",
    "delayed": False,
    "1": 5000.0,
    "2": 5000.25,
    "3": 5000.0,
    "4": 10,
    "5": 12,
    "8": 1000,
    "9": 1,
    "10": 1,
    "11": 1,
}


def test_the_first_row_is_a_baseline_and_a_volume_rise_is_one_trade_at_the_last_price() -> None:
    p = parser()
    first = p.parse(frame("LEVELONE_FUTURES", FULL), ts_recv=5)
    assert [type(event) for event in first] == [Quote]  # the day's volume so far is no trade
    # Changed fields only: the price moved to the ask and 3 contracts traded.
    events = p.parse(
        frame("LEVELONE_FUTURES", {"key": "/ESZ26", "3": 5000.25, "8": 1003, "9": 3, "11": 1_780_000_000_123}),
        ts_recv=6,
    )
    assert events == [Trade("ESZ26", 1_780_000_000_123 * 1_000_000, 6, 5000.25, 3, Side.BUY, "schwab", 1003)]
    # Only the size changed (a quote row): no trade; the quote carries every field merged.
    (quote,) = p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "4": 30}), ts_recv=7)
    assert isinstance(quote, Quote)
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (5000.0, 30, 5000.25, 12)
    # A trade at the same price as before: "3" is absent, the volume still rose.
    (trade,) = p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "8": 1005, "9": 2}), ts_recv=8)
    assert (trade.price, trade.size, trade.seq) == (5000.25, 2, 1005)


def test_a_conflated_row_is_one_trade_of_the_whole_volume_and_a_sell_at_the_bid() -> None:
    p = parser()
    p.parse(frame("LEVELONE_FUTURES", FULL), ts_recv=1)
    (trade,) = p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "3": 5000.0, "8": 1010, "9": 4}), ts_recv=2)
    assert (trade.size, trade.side) == (10, Side.SELL)


def test_after_a_reconnect_the_snapshot_row_is_a_baseline_again_so_nothing_is_counted_twice() -> None:
    p = parser()
    p.parse(frame("LEVELONE_FUTURES", FULL), ts_recv=1)
    p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "8": 1002}), ts_recv=2)
    p.reset_baselines()
    again = p.parse(frame("LEVELONE_FUTURES", {**FULL, "8": 1050}), ts_recv=3)
    assert not [event for event in again if isinstance(event, Trade)]
    (trade,) = [
        e for e in p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "8": 1051}), ts_recv=4) if isinstance(e, Trade)
    ]
    assert trade.size == 1


def test_a_volume_that_falls_is_a_new_session_not_a_trade() -> None:
    p = parser()
    p.parse(frame("LEVELONE_FUTURES", FULL), ts_recv=1)
    assert p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "8": 5}), ts_recv=2) == []
    (trade,) = p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "8": 7}), ts_recv=3)
    assert trade.size == 2


def test_equities_use_their_own_time_fields_and_books_are_snapshots() -> None:
    p = parser()
    p.parse(
        frame(
            "LEVELONE_EQUITIES",
            {"key": "AAPL", "1": 199.9, "2": 200.0, "3": 200.0, "4": 3, "5": 1, "8": 10, "34": 7, "35": 8},
        ),
        ts_recv=1,
    )
    (trade, _) = p.parse(frame("LEVELONE_EQUITIES", {"key": "AAPL", "8": 110, "35": 9, "5": 2}), ts_recv=2)
    assert (trade.symbol, trade.size, trade.ts_event) == ("AAPL", 100, 9_000_000)
    book = {
        "key": "AAPL",
        "1": 1590532442608,
        "2": [
            {"0": 181.77, "1": 100, "2": 1, "3": [{"0": "edgx", "1": 100, "2": 63150257}]},
            {"0": 181.75, "1": 545, "2": 2, "3": []},
        ],
        "3": [{"0": 181.95, "1": 100, "2": 1, "3": [{"0": "arcx", "1": 100, "2": 63006734}]}],
    }
    (snapshot,) = p.parse(frame("NASDAQ_BOOK", book), ts_recv=3)
    assert isinstance(snapshot, DepthSnapshot)
    assert [(level.price, level.size) for level in snapshot.bids] == [(181.77, 100), (181.75, 545)]
    assert [(level.price, level.size) for level in snapshot.asks] == [(181.95, 100)]


def test_chart_rows_become_vendor_minute_bars_and_heartbeats_are_counted() -> None:
    p = parser()
    row = {"key": "/ESZ26", "seq": 779, "1": 1_780_000_020_000, "2": 1.0, "3": 2.0, "4": 0.5, "5": 1.5, "6": 42.0}
    assert p.parse(frame("CHART_FUTURES", row), ts_recv=1) == []
    (bar,) = p.take_bars()
    assert (bar.symbol, bar.start_ms, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        "ESZ26",
        1_780_000_020_000,
        1.0,
        2.0,
        0.5,
        1.5,
        42.0,
    )
    assert p.parse(b'{"notify":[{"heartbeat":"1668715930582"}]}', ts_recv=2) == []
    assert p.heartbeats == 1


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"{not json", "invalid_json"),
        (b'{"data": "nope"}', "bad_envelope"),
        (frame("TIMESALE_EQUITY", {"key": "AAPL"}), "unknown_service:TIMESALE_EQUITY"),
        (frame("LEVELONE_FUTURES", {"key": "/ESZ26", "3": "a price"}), "bad_row:LEVELONE_FUTURES"),
        (frame("LEVELONE_FUTURES", {"key": "/XXZ26", "3": 1.0}), "unknown_symbol"),
        (frame("NASDAQ_BOOK", {"key": "AAPL", "2": []}), "bad_row:NASDAQ_BOOK"),
    ],
)
def test_malformed_frames_are_refused_with_their_kind(raw: bytes, kind: str) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        parser().parse(raw, ts_recv=1)
    assert caught.value.kind == kind


def test_a_bad_row_leaves_no_half_applied_frame() -> None:
    p = parser()
    p.parse(frame("LEVELONE_FUTURES", FULL), ts_recv=1)
    bad = json.dumps(
        {
            "data": [
                {"service": "LEVELONE_FUTURES", "timestamp": 1, "content": [{"key": "/ESZ26", "8": 1500}]},
                {"service": "LEVELONE_EQUITIES", "timestamp": 1, "content": [{"key": "AAPL", "8": "many"}]},
            ]
        }
    )
    with pytest.raises(MalformedMessageError):
        p.parse(bad, ts_recv=2)
    (trade,) = p.parse(frame("LEVELONE_FUTURES", {"key": "/ESZ26", "8": 1001}), ts_recv=3)
    assert trade.size == 1  # the refused frame's volume was not taken as the baseline
