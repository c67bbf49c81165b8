"""The hot store against a real Redis: what the writer stores is what the lookups return."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
import pytest
import time_machine

from apps.core import keys
from apps.core.codec import loads
from apps.core.redis import get_redis
from apps.marketdata.events import (
    DepthSnapshot,
    DepthUpdate,
    Event,
    Level,
    Quote,
    Side,
    Trade,
    decode_json,
    encode_json,
)
from apps.marketdata.selectors import (
    book_at,
    depth_compare,
    last_values,
    quote_latest,
    trades_between,
    trades_last,
)
from apps.marketdata.services.streams import WriteResult
from apps.marketdata.services.trim import stream_trim
from tests.factories import T0, Writer, depth_snapshot, depth_update, ns, quote, trade, write

MS = 0.001  # these tests place events milliseconds apart


@pytest.mark.parametrize(
    "event",
    [
        Trade("ESZ26", 1, 2, 6000.25, 3, Side.SELL, "simulator", 17),
        Quote("ESZ26", 1, 2, 6000.0, 10, 6000.25, 12, "schwab"),
        DepthSnapshot("ESZ26", 1, 2, (Level(6000.0, 5),), (Level(6000.25, 7),), "tastytrade"),
        DepthUpdate("NQZ26", 1, 2, Side.BUY, 21000.5, 0, "test"),
    ],
)
def test_schema_round_trips(event: Event) -> None:
    assert decode_json(encode_json(event)) == event


def test_a_malformed_event_names_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.size"):
        decode_json(b'{"type":"trade","symbol":"ESZ26","ts_event":1,"ts_recv":2,"price":1.0,"size":"many"}')


def test_trades_are_stored_as_written_with_last_values() -> None:
    trades = [
        trade(0, 6000.00, size=2, seq=1, side=Side.BUY),
        trade(5 * MS, 6000.25, seq=2, side=Side.SELL),
        trade(9 * MS, 6000.50, size=4, seq=3, side=Side.BUY),
    ]
    [result] = write([trades])
    assert result.trades == 3
    stored = trades_last(symbol="ESZ26", count=10)
    assert [item.trade for item in stored] == trades
    assert stored[-1].id == f"{ns(0) // 1_000_000}-0:2"  # one block per batch; index 2 in it
    assert last_values(symbol="ESZ26")["price"] == 6000.50


def test_out_of_order_trades_keep_stream_order_and_are_not_lost() -> None:
    write([[trade(10 * MS, 6000.0)]])
    write([[trade(5 * MS, 6001.0), trade(10 * MS, 6002.0)]])
    stored = trades_last(symbol="ESZ26", count=10)
    assert [item.trade.price for item in stored] == [6000.0, 6001.0, 6002.0]
    assert [item.trade.ts_event for item in stored] == [ns(10 * MS), ns(5 * MS), ns(10 * MS)]  # exchange times kept
    first_ms = ns(0) // 1_000_000 + 10
    assert [item.id for item in stored] == [f"{first_ms}-0:0", f"{first_ms}-1:0", f"{first_ms}-1:1"]


def test_trades_between_pages_without_gap_or_duplicate() -> None:
    write([[trade(ms * MS, 6000.0 + ms / 4) for ms in range(0, 25)]])  # blocks that straddle the range
    write([[trade(ms * MS, 6000.0 + ms / 4) for ms in range(25, 50)]])
    start, end = T0 + timedelta(milliseconds=10), T0 + timedelta(milliseconds=39)
    seen, cursor, pages = [], None, 0
    while True:
        page = trades_between(symbol="ESZ26", start=start, end=end, cursor=cursor, limit=7)
        seen += [item.trade.ts_event for item in page.trades]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [ns(ms * MS) for ms in range(10, 40)]
    assert pages == 5
    with pytest.raises(ValueError, match="not a trade id"):
        trades_between(symbol="ESZ26", start=start, end=end, cursor="garbage")


def test_a_block_keeps_every_field_of_every_trade() -> None:
    trades = [
        trade(
            i * MS,
            6000.0 + (i % 9) * 0.25 - (i % 4),
            size=1 + i * 37 % 500,
            seq=10_000 + i * 3,
            side=Side(i % 3),
            feed="simulator",
            received_after_ns=1_500_000 * (i % 3),
        )
        for i in range(300)
    ]
    write([trades])
    stored = [item.trade for item in trades_last(symbol="ESZ26", count=1000)]
    expected = [
        msgspec.structs.replace(t, ts_recv=t.ts_event + (t.ts_recv - t.ts_event) // 1000 * 1000) for t in trades
    ]
    assert stored == expected


def test_latest_quote_and_one_notification_per_batch() -> None:
    pubsub = get_redis().pubsub()
    pubsub.subscribe(keys.trades_channel("test"))
    pubsub.get_message(timeout=1)
    write([[quote(1 * MS, 6000.0, 6000.25, bid_size=10, ask_size=12), trade(3 * MS, 6000.25), trade(4 * MS, 6000.25)]])
    latest = quote_latest(symbol="ESZ26")
    assert latest is not None
    assert (latest.bid_price, latest.bid_size, latest.ask_price, latest.ask_size) == (6000.0, 10, 6000.25, 12)
    message = pubsub.get_message(timeout=2)
    assert message is not None
    assert loads(message["data"]) == {"feed": "test", "symbols": ["ESZ26"], "count": 2}
    assert pubsub.get_message(timeout=0.2) is None
    pubsub.close()


def test_book_at_applies_updates_after_the_snapshot_and_compares_feeds() -> None:
    snapshot = depth_snapshot(0, bids=((6000.0, 5), (5999.75, 8)), asks=((6000.25, 7),))
    write([[snapshot, depth_update(10 * MS, Side.BUY, 6000.0, 9)]])
    write([[depth_update(20 * MS, Side.SELL, 6000.25, 0), depth_update(20 * MS, Side.SELL, 6000.5, 3)]])
    write(
        [[depth_snapshot(15 * MS, bids=((6000.0, 1),), asks=((6000.5, 1),), feed="simulator")]],
        feed="simulator",
    )

    early = book_at(symbol="ESZ26", at=T0 + timedelta(milliseconds=12), feed="test")
    assert early is not None
    assert early.levels() == {"bids": [(6000.0, 9), (5999.75, 8)], "asks": [(6000.25, 7)]}
    late = book_at(symbol="ESZ26", at=T0 + timedelta(milliseconds=25), feed="test")
    assert late is not None
    assert late.levels()["asks"] == [(6000.5, 3)]
    assert book_at(symbol="ESZ26", at=T0 - timedelta(seconds=1), feed="test") is None

    both = depth_compare(symbol="ESZ26", feeds=("test", "simulator"), at=T0 + timedelta(milliseconds=30))
    assert both["simulator"] is not None
    assert both["simulator"]["bids"] == [(6000.0, 1)]
    assert both["test"] is not None
    assert both["test"]["bids"] == [(6000.0, 9), (5999.75, 8)]


@pytest.mark.calendar
def test_trim_never_removes_what_a_group_has_not_acknowledged() -> None:
    write([[trade(ms * MS, 6000.0)] for ms in range(100)])  # one stream entry each
    client = get_redis()
    key = keys.trades("ESZ26")
    client.xgroup_create(key, "flush", id="0")
    delivered = client.xreadgroup("flush", "c1", {key: ">"}, count=60)[0][1]
    client.xack(key, "flush", *[entry_id for entry_id, _ in delivered[:40]])

    with time_machine.travel(T0 + timedelta(hours=1)):  # the whole stream is older than the window
        result = stream_trim(client=client, key=key, window_minutes=1, exact=True)
        assert result.held_by_group == "flush"
        remaining = client.xrange(key)
        assert len(remaining) == 60  # entries 40..99: 20 pending + 40 never delivered
        assert remaining[0][0] == delivered[40][0]

        client.xack(key, "flush", *[entry_id for entry_id, _ in delivered[40:]])
        assert len(client.xrange(key)) == 60
        stream_trim(client=client, key=key, window_minutes=1, exact=True)
        assert len(client.xrange(key)) == 40  # still never delivered to the group


@pytest.mark.calendar
def test_trim_without_groups_keeps_the_hot_window() -> None:
    now_ms = int(T0.timestamp() * 1000)
    client = get_redis()
    key = keys.trades("NQZ26")
    client.xadd(key, {"p": 1}, id=f"{now_ms - 3_600_000}-0")
    client.xadd(key, {"p": 2}, id=f"{now_ms - 60_000}-0")
    with time_machine.travel(T0):
        stream_trim(client=client, key=key, window_minutes=30, exact=True)
    assert [raw[b"p"] for _, raw in client.xrange(key)] == [b"2"]


def test_a_writer_survives_redis_forgetting_its_scripts() -> None:
    """Redis restarted (or SCRIPT FLUSH ran) under a running streamer: its next batches are written."""

    async def scenario() -> WriteResult:
        writer = Writer()
        try:
            await writer.write_batch([trade(0, 6000.0, seq=1)])
            await writer.client.script_flush()
            return await writer.write_batch(
                [trade(5 * MS, 6000.25, seq=2), quote(6 * MS, 6000.0, 6000.25, bid_size=3, ask_size=4)]
            )
        finally:
            await writer.close()

    result = asyncio.run(scenario())
    assert (result.trades, result.quotes, result.rejected) == (1, 1, [])
    assert [item.trade.seq for item in trades_last(symbol="ESZ26", count=10)] == [1, 2]
    assert quote_latest(symbol="ESZ26") is not None


def test_blocks_written_before_the_narrow_format_still_read() -> None:
    """Format 1 (every column int64) is what earlier versions wrote; a stream or a lake flush
    that still holds such entries must decode them."""
    import struct
    import zlib

    from apps.marketdata.blocks import BlockKind, decode_columns, decode_trades

    columns = [[0, 250], [600000, 25], [2, 1], [1 | (1 << 2), 2 | (1 << 2)], [3, 4], [7, 1]]
    flat = [value for column in columns for value in column]
    block = struct.pack("<BBqii", 1, BlockKind.TRADES, ns(0) // 1000, 2, 6) + zlib.compress(
        struct.pack(f"<{len(flat)}q", *flat)
    )
    trades = decode_trades("ESZ26", block)
    assert [(t.ts_event, t.price, t.size, t.side, t.seq) for t in trades] == [
        (ns(0), 6000.0, 2, Side.BUY, 7),
        (ns(0) + 250_000, 6000.25, 1, Side.SELL, 8),
    ]
    _, decoded = decode_columns(block, BlockKind.TRADES)
    assert decoded[1].tolist() == [600000, 600025]


def test_blocks_written_in_the_zlib_narrow_format_still_read() -> None:
    """Format 2 (narrow columns, zlib) is what the previous version wrote; streams and flushes
    that still hold such entries must decode them after the switch to LZ4."""
    import struct
    import zlib

    from apps.marketdata.blocks import BlockKind, decode_columns, decode_trades

    codes = bytes([2, 4, 1, 1, 1, 0])  # int16 times, int32 prices, int8 ..., one constant seq delta
    body = (
        struct.pack("<2h", 0, 250)
        + struct.pack("<2i", 600000, 25)
        + struct.pack("<2b", 2, 1)
        + struct.pack("<2b", 1 | (1 << 2), 2 | (1 << 2))
        + struct.pack("<2b", 3, 4)
        + struct.pack("<q", 1)
    )
    block = struct.pack("<BBqii", 2, BlockKind.TRADES, ns(0) // 1000, 2, 6) + codes + zlib.compress(body, 1)
    trades = decode_trades("ESZ26", block)
    assert [(t.ts_event, t.price, t.size, t.side, t.seq) for t in trades] == [
        (ns(0), 6000.0, 2, Side.BUY, 1),
        (ns(0) + 250_000, 6000.25, 1, Side.SELL, 2),
    ]
    _, decoded = decode_columns(block, BlockKind.TRADES)
    assert decoded[1].tolist() == [600000, 600025]
