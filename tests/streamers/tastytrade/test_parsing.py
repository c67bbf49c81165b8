"""DXLink COMPACT frames -> normalized events, without a socket: what each event type becomes,
what is skipped, and how a frame that cannot be read is named."""

from __future__ import annotations

from typing import Any

import pytest

from apps.marketdata.events import DepthSnapshot, Level, Quote, Side, Trade
from streamers.feed import MalformedMessageError
from streamers.tastytrade.depth import OrderBooks
from streamers.tastytrade.dxlink import CHANNELS, FIELDS, REMOVE_EVENT, SNAPSHOT_BEGIN, SNAPSHOT_END, TX_PENDING
from streamers.tastytrade.parsing import ParseContext, feed_data_events
from tests.fakes.tastytrade import last_sale, order, quote, time_and_sale

DX = "/ESZ26:XCME"
T = 1_796_000_000_123_456_789


def context(**overrides: Any) -> ParseContext:
    values: dict[str, Any] = {
        "fields": {channel: {kind: FIELDS[kind]} for kind, channel in CHANNELS.items()},
        "types_by_channel": {channel: kind for kind, channel in CHANNELS.items()},
        "symbol_of": {DX: "ESZ26"}.__getitem__,
    }
    values.update(overrides)
    return ParseContext(**values)


def frame(kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    values: list[Any] = []
    for row in rows:
        values += ["NaN" if row.get(name) is None else row[name] for name in FIELDS[kind]]
    return {"type": "FEED_DATA", "channel": CHANNELS[kind], "data": [kind, values]}


def test_time_and_sales_become_trades_with_aggressor_side_nanoseconds_and_index() -> None:
    rows = [
        time_and_sale(symbol=DX, ts_ns=T, price=6000.25, size=3, side="BUY", index=11),
        time_and_sale(symbol=DX, ts_ns=T + 1, price=6000.0, size=1, side="SELL", index=12),
        {**time_and_sale(symbol=DX, ts_ns=T + 2, price=6000.0, size=1, side="SELL", index=13), "type": "CANCEL"},
        {
            **time_and_sale(symbol=DX, ts_ns=T + 3, price=6000.0, size=1, side="SELL", index=14),
            "eventFlags": REMOVE_EVENT,
        },
        time_and_sale(symbol=DX, ts_ns=T + 4, price=6000.0, size=2, side="UNDEFINED", index=15),
    ]
    events = feed_data_events(frame("TimeAndSale", rows), context(), ts_recv=5)
    assert events == [
        Trade("ESZ26", T, 5, 6000.25, 3, Side.BUY, "tastytrade", 11),
        Trade("ESZ26", T + 1, 5, 6000.0, 1, Side.SELL, "tastytrade", 12),
        Trade("ESZ26", T + 4, 5, 6000.0, 2, Side.UNKNOWN, "tastytrade", 15),
    ]


def test_the_conflated_last_sale_is_a_trade_only_when_trades_come_from_it() -> None:
    message = frame("Trade", [last_sale(symbol=DX, ts_ns=T, price=6000.5, size=4, sequence=9, day_volume=100)])
    assert feed_data_events(message, context(), ts_recv=5) == []
    assert feed_data_events(message, context(trades_from="Trade"), ts_recv=5) == [
        Trade("ESZ26", T, 5, 6000.5, 4, Side.UNKNOWN, "tastytrade", 9)
    ]


def test_quotes_without_a_price_on_a_side_are_skipped_and_the_rest_counted() -> None:
    rows = [
        quote(symbol=DX, ts_ns=T, bid=6000.0, bid_size=10, ask=6000.25, ask_size=4),
        {**quote(symbol=DX, ts_ns=T, bid=6000.0, bid_size=10, ask=6000.25, ask_size=4), "askPrice": None},
    ]
    ctx = context()
    assert feed_data_events(frame("Quote", rows), ctx, ts_recv=5) == [
        Quote("ESZ26", T // 1_000_000 * 1_000_000, 5, 6000.0, 10, 6000.25, 4, "tastytrade")
    ]
    assert ctx.rows_by_type == {"Quote": 2}


def test_fields_are_read_by_name_in_the_order_the_server_announced() -> None:
    announced = ("price", "eventSymbol", "size", "time", "timeNanoPart", "index", "aggressorSide", "type", "eventFlags")
    values = [6001.0, DX, 2.0, T // 1_000_000, T % 1_000_000, 77, "SELL", "NEW", 0]
    ctx = context(fields={CHANNELS["TimeAndSale"]: {"TimeAndSale": announced}})
    message = {"type": "FEED_DATA", "channel": CHANNELS["TimeAndSale"], "data": ["TimeAndSale", values]}
    assert feed_data_events(message, ctx, ts_recv=5) == [Trade("ESZ26", T, 5, 6001.0, 2, Side.SELL, "tastytrade", 77)]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ({"type": "FEED_DATA", "channel": 99, "data": []}, "unknown_channel"),
        ({"type": "FEED_DATA", "channel": CHANNELS["Quote"], "data": ["Quote"]}, "bad_feed_data"),
        ({"type": "FEED_DATA", "channel": CHANNELS["Quote"], "data": ["Quote", [DX, 1, 2]]}, "wrong_row_length:Quote"),
        ({"type": "FEED_DATA", "channel": CHANNELS["Quote"], "data": ["Candle", []]}, "unknown_event_type:Candle"),
    ],
)
def test_a_frame_that_cannot_be_read_is_named(message: dict[str, Any], kind: str) -> None:
    with pytest.raises(MalformedMessageError) as error:
        feed_data_events(message, context(), ts_recv=5)
    assert error.value.kind == kind


def test_a_wrong_type_names_the_field_and_row() -> None:
    row = {**time_and_sale(symbol=DX, ts_ns=T, price=6000.0, size=1, side="BUY", index=1), "price": "six thousand"}
    with pytest.raises(MalformedMessageError) as error:
        feed_data_events(frame("TimeAndSale", [row]), context(), ts_recv=5)
    assert (error.value.kind, error.value.location) == ("bad_value:TimeAndSale", "data.TimeAndSale[0].price")


def test_an_order_snapshot_becomes_one_book_only_when_its_transaction_is_complete() -> None:
    ctx = context()
    first = [
        order(symbol=DX, ts_ns=T, index=1, side="BUY", price=6000.0, size=5, flags=SNAPSHOT_BEGIN | TX_PENDING),
        order(symbol=DX, ts_ns=T, index=2, side="BUY", price=6000.0, size=3, flags=TX_PENDING),
    ]
    assert feed_data_events(frame("Order", first), ctx, ts_recv=5) == [], "half a snapshot is never published"
    rest = [
        order(symbol=DX, ts_ns=T, index=3, side="SELL", price=6000.5, size=2, flags=TX_PENDING),
        order(symbol=DX, ts_ns=T, index=4, side="SELL", price=6000.25, size=8, flags=SNAPSHOT_END),
    ]
    (book,) = feed_data_events(frame("Order", rest), ctx, ts_recv=6)
    assert book == DepthSnapshot(
        "ESZ26",
        T // 1_000_000 * 1_000_000,
        6,
        (Level(6000.0, 8),),
        (Level(6000.25, 8), Level(6000.5, 2)),
        "tastytrade",
    )
    removed = [order(symbol=DX, ts_ns=T, index=4, side="SELL", price=6000.25, size=8, flags=REMOVE_EVENT)]
    (after,) = feed_data_events(frame("Order", removed), ctx, ts_recv=7)
    assert after.asks == (Level(6000.5, 2),)


def test_a_new_snapshot_replaces_the_book() -> None:
    books = OrderBooks()
    ctx = context(books=books)
    feed_data_events(
        frame("Order", [order(symbol=DX, ts_ns=T, index=1, side="BUY", price=5990.0, size=1)]), ctx, ts_recv=1
    )
    fresh = [order(symbol=DX, ts_ns=T, index=9, side="BUY", price=6000.0, size=4, flags=SNAPSHOT_BEGIN | SNAPSHOT_END)]
    (book,) = feed_data_events(frame("Order", fresh), ctx, ts_recv=2)
    assert book.bids == (Level(6000.0, 4),)


def test_the_fast_paths_give_exactly_what_the_checking_paths_give_on_a_scripted_market() -> None:
    """Each event type has a column-wise fast path for well-formed runs; on the simulator's seeded
    market (a NaN-sized Order row included) it must give the same events as the row-by-row
    checking path."""
    from streamers.tastytrade import parsing
    from tests.fakes.tastytrade import MarketScript

    script = MarketScript(dx_symbols={"ESZ26": DX}, seed=3, rate=1000.0)
    rows: dict[str, list[dict[str, Any]]] = {"TimeAndSale": [], "Quote": [], "Order": []}
    now = T
    while min(len(found) for found in rows.values()) < 300:
        for kind, found in script.step(now).items():
            rows.get(kind, []).extend(found)
        now += script.market.next_gap(now)
    # "NaN" on the wire: no size, the level goes.
    rows["Order"].append({**order(symbol=DX, ts_ns=now, index=1, side="BUY", price=6000.0, size=0), "size": None})
    pairs = {
        "TimeAndSale": (parsing._fast_time_and_sales, parsing._time_and_sales),
        "Quote": (parsing._fast_quotes, parsing._quotes),
        "Order": (parsing._fast_orders, parsing._orders),
    }
    for kind, (fast, checking) in pairs.items():
        values = frame(kind, rows[kind])["data"][1]
        expected = checking(values, FIELDS[kind], context(), 5)
        assert expected, kind
        assert fast(values, FIELDS[kind], context(), 5) == expected, kind


def test_summary_and_greeks_keep_each_symbols_latest_and_a_wrong_type_keeps_nothing() -> None:
    from tests.fakes.tastytrade import greeks, summary

    parsed = context()
    first = summary(
        symbol=DX,
        day_id=20_790,
        day_open=6010.0,
        day_high=6020.0,
        day_low=6000.0,
        day_close=None,
        prev_day_close=6005.0,
        prev_day_volume=1000.0,
        open_interest=None,
    )
    assert feed_data_events(frame("Summary", [first, {**first, "dayHighPrice": 6025.0}]), parsed, ts_recv=5) == []
    kept = parsed.summaries["ESZ26"]
    assert (kept.day_high, kept.day_close, kept.open_interest, kept.ts_recv) == (6025.0, None, None, 5)
    bad = {**first, "dayHighPrice": 6030.0, "dayLowPrice": "low"}
    with pytest.raises(MalformedMessageError) as raised:
        feed_data_events(frame("Summary", [{**first, "dayHighPrice": 6029.0}, bad]), parsed, ts_recv=6)
    assert raised.value.kind == "bad_value:Summary"
    assert "dayLowPrice" in str(raised.value.location)
    assert parsed.summaries["ESZ26"].day_high == 6025.0, "nothing of the refused run was kept"

    values = {"price": 4.5, "volatility": 0.2, "delta": 0.5, "gamma": 0.01, "theta": -0.3, "rho": 0.1, "vega": 0.7}
    live = greeks(symbol=DX, ts_ns=T, **values)
    removed = {**greeks(symbol=DX, ts_ns=T + 10**9, **{**values, "price": 9.0}), "eventFlags": REMOVE_EVENT}
    feed_data_events(frame("Greeks", [live, removed]), parsed, ts_recv=7)
    stored = parsed.greeks["ESZ26"]
    assert (stored.price, stored.delta, stored.ts_event_ms) == (4.5, 0.5, T // 1_000_000)
