"""DXLink COMPACT FEED_DATA -> normalized events. Pure: a decoded frame and the subscription's
context in, events out; it opens nothing and keeps no state beyond the order books it is given.

A FEED_DATA frame is `{"type":"FEED_DATA","channel":N,"data":[Type,[v1,v2,...],Type,[...]]}`:
for each event type, a flat run of rows, each exactly as many values as the fields the channel was
set up with (FEED_SETUP's acceptEventFields, or the FEED_CONFIG's eventFields when the server
names its own). Missing values arrive as "NaN". Facts: shared/reference/protocols.md section 2.5.

What becomes what:
- TimeAndSale (one row per print, with the aggressor side) -> Trade. Corrections, cancellations
  and removals are not new prints and are skipped. DXLink's `Trade` event is the conflated last
  sale (one row per aggregation period, prints in between are lost), so it becomes a Trade only
  when the venue is told to take trades from it (`--trades-from trade`), for symbols whose time
  and sales the account does not get; never both, which would count each print twice.
- Quote -> Quote (a side without a price, "NaN", is no quote yet and is skipped).
- Order (depth) -> the order book of its symbol (`depth.OrderBooks`), which yields a DepthSnapshot
  each time a transaction of order changes is complete.
- Summary and Greeks are no market events: the latest of each per symbol is kept in the context
  (`summaries`, `greeks`) and the client stores it as the symbol's latest value
  (`apps.marketdata.services.vendor_stats`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from apps.marketdata.events import Event, Quote, Side, Trade
from apps.marketdata.vendor_records import VendorGreeks, VendorSummary
from streamers.feed import MalformedMessageError
from streamers.tastytrade.depth import OrderBooks, OrderRow
from streamers.tastytrade.dxlink import NAN_VALUES, REMOVE_EVENT

FEED = "tastytrade"
_isnan = math.isnan
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
# TimeAndSale `type`: the SDK models it as a string; dxFeed sends NEW / CORRECTION / CANCEL (0/1/2).
NEW_PRINT = frozenset({"NEW", "0", 0})
NOT_WRITTEN = frozenset({"Trade"})


@dataclass
class ParseContext:
    """What the parser needs to know of the connection: the fields each channel was set up with,
    DXLink symbol -> canonical symbol, which event gives trades, and the order books."""

    fields: dict[int, dict[str, tuple[str, ...]]]
    types_by_channel: Mapping[int, str]
    symbol_of: Callable[[str], str]
    trades_from: str = "TimeAndSale"
    books: OrderBooks = field(default_factory=OrderBooks)
    # Events per DXLink type in the frames parsed so far (Prometheus reads the deltas).
    rows_by_type: dict[str, int] = field(default_factory=dict)
    # The latest Summary and Greeks per canonical symbol not yet stored (the client takes them).
    summaries: dict[str, VendorSummary] = field(default_factory=dict)
    greeks: dict[str, VendorGreeks] = field(default_factory=dict)


def _number(value: Any, *, name: str, event_type: str, row: int) -> float | None:
    """A float, None for "NaN"; MalformedMessageError naming the field for anything else."""
    if type(value) is float or type(value) is int:
        return float(value)
    if value in NAN_VALUES or value is None:
        return None
    raise MalformedMessageError(
        f"bad_value:{event_type}", f"{name} is {value!r}, not a number", f"data.{event_type}[{row}].{name}"
    )


@functools.lru_cache(maxsize=256)
def _columns(fields: tuple[str, ...], event_type: str, wanted: tuple[str, ...]) -> list[int]:
    try:
        return [fields.index(name) for name in wanted]
    except ValueError as error:
        raise MalformedMessageError(
            f"missing_field:{event_type}", f"the channel's fields lack {error}", f"FEED_CONFIG.{event_type}"
        ) from None


def feed_data_events(message: Mapping[str, Any], context: ParseContext, *, ts_recv: int) -> list[Event]:
    """The events of one FEED_DATA message; MalformedMessageError (kind, reason, location) when
    the frame cannot be read as a whole."""
    channel = message.get("channel")
    data = message.get("data")
    if not isinstance(channel, int) or channel not in context.types_by_channel:
        raise MalformedMessageError("unknown_channel", f"FEED_DATA on channel {channel!r}, which we never opened")
    if not isinstance(data, list) or len(data) % 2:
        raise MalformedMessageError("bad_feed_data", "data is not [Type, [values...], ...] (COMPACT)", "data")
    events: list[Event] = []
    for position in range(0, len(data), 2):
        event_type, values = data[position], data[position + 1]
        if not isinstance(event_type, str) or not isinstance(values, list):
            raise MalformedMessageError("bad_feed_data", "data is not [Type, [values...], ...] (COMPACT)", "data")
        fields = context.fields.get(channel, {}).get(event_type)
        if fields is None:
            raise MalformedMessageError(
                f"unknown_event_type:{event_type}"[:60],
                f"{event_type!r} on channel {channel}, which was set up for {context.types_by_channel[channel]}",
                f"data[{position}]",
            )
        width = len(fields)
        if len(values) % width:
            raise MalformedMessageError(
                f"wrong_row_length:{event_type}",
                f"{len(values)} values is not a whole number of {width}-field rows",
                f"data[{position + 1}]",
            )
        context.rows_by_type[event_type] = context.rows_by_type.get(event_type, 0) + len(values) // width
        # Each kind has a fast path for well-formed rows; a row it cannot take (a wrong type, a
        # NaN where a number must be) sends the whole run through the checking path, which skips
        # what may be skipped and names the field of what is wrong.
        if event_type == "TimeAndSale" and context.trades_from == "TimeAndSale":
            events += _checked(_fast_time_and_sales, _time_and_sales, values, fields, context, ts_recv)
        elif event_type == "Trade" and context.trades_from == "Trade":
            events += _last_sales(values, fields, context, ts_recv)
        elif event_type == "Quote":
            events += _checked(_fast_quotes, _quotes, values, fields, context, ts_recv)
        elif event_type == "Order":
            rows = _checked(_fast_orders, _orders, values, fields, context, ts_recv)
            events += context.books.apply(rows, ts_recv=ts_recv)
        elif event_type in ("Summary", "Greeks"):
            _keep_latest(event_type, values, fields, context, ts_recv)
        elif event_type not in NOT_WRITTEN and event_type != "TimeAndSale":
            raise MalformedMessageError(f"unknown_event_type:{event_type}"[:60], f"no parser for {event_type!r}")
    return events


def _checked(fast: Callable[..., list[Any]], checking: Callable[..., list[Any]], *args: Any) -> list[Any]:
    try:
        return fast(*args)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return checking(*args)


def _symbols_of(raw_symbols: list[Any], context: ParseContext) -> dict[Any, str]:
    """Each distinct DXLink symbol of a run mapped once (a run holds few)."""
    return {raw: context.symbol_of(raw) for raw in set(raw_symbols)}


# The fast paths work a run column by column: each column sliced once, converted with `map`
# (a loop in C rather than in Python bytecode), checked with `any(map(...))`, and the events built
# by `map(Trade, ...)` over the columns. Anything unusual raises, and `_checked` hands the run to
# the checking path (which names the field and row). Measured: docs/benchmarks.md.


def _column_slices(
    values: list[Any], fields: tuple[str, ...], event_type: str, wanted: tuple[str, ...]
) -> list[list[Any]]:
    width = len(fields)
    return [values[column::width] for column in _columns(fields, event_type, wanted)]


def _has_removed(flags: list[Any]) -> bool:
    """True when a row carries REMOVE_EVENT (a non-integer flag, "NaN", is no flag)."""
    return any(flag.__class__ is int and flag & REMOVE_EVENT for flag in set(flags))


def _fast_time_and_sales(
    values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int
) -> list[Trade]:
    symbols, ms, nanos, indexes, raw_prices, raw_sizes, aggressors, kinds, flags = _column_slices(
        values,
        fields,
        "TimeAndSale",
        ("eventSymbol", "time", "timeNanoPart", "index", "price", "size", "aggressorSide", "type", "eventFlags"),
    )
    prices = list(map(float, raw_prices))
    sizes = list(map(float, raw_sizes))
    if not NEW_PRINT.issuperset(kinds) or _has_removed(flags) or any(map(_isnan, prices)) or any(map(_isnan, sizes)):
        raise ValueError("not plain new prints")
    symbol_of = _symbols_of(symbols, context).__getitem__
    ts_events = [milli * 1_000_000 + nano for milli, nano in zip(map(int, ms), map(int, nanos), strict=True)]
    return list(
        map(
            Trade,
            map(symbol_of, symbols),
            ts_events,
            repeat(ts_recv),
            prices,
            map(int, sizes),
            map(SIDES.get, aggressors, repeat(Side.UNKNOWN)),
            repeat(FEED),
            map(int, indexes),
        )
    )


def _fast_quotes(values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int) -> list[Quote]:
    symbols, event_times, bid_times, ask_times, raw_bids, raw_asks, raw_bid_sizes, raw_ask_sizes = _column_slices(
        values,
        fields,
        "Quote",
        ("eventSymbol", "eventTime", "bidTime", "askTime", "bidPrice", "askPrice", "bidSize", "askSize"),
    )
    bids, asks = list(map(float, raw_bids)), list(map(float, raw_asks))
    bid_sizes, ask_sizes = list(map(float, raw_bid_sizes)), list(map(float, raw_ask_sizes))
    if any(map(_isnan, bids)) or any(map(_isnan, asks)) or any(map(_isnan, bid_sizes)) or any(map(_isnan, ask_sizes)):
        raise ValueError("a side without a price")
    symbol_of = _symbols_of(symbols, context).__getitem__
    # The later side's time is the quote's; eventTime is often 0 on a live quote.
    ts_events = [
        milli * 1_000_000 or ts_recv
        for milli in map(max, map(int, bid_times), map(int, ask_times), map(int, event_times))
    ]
    return list(
        map(
            Quote,
            map(symbol_of, symbols),
            ts_events,
            repeat(ts_recv),
            bids,
            map(int, bid_sizes),
            asks,
            map(int, ask_sizes),
            repeat(FEED),
        )
    )


def _fast_orders(values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int) -> list[OrderRow]:
    symbols, flags, indexes, ms, raw_prices, raw_sizes, sides = _column_slices(
        values, fields, "Order", ("eventSymbol", "eventFlags", "index", "time", "price", "size", "side")
    )
    prices: list[float | None] = list(map(float, raw_prices))
    sizes: list[float | None] = list(map(float, raw_sizes))
    # NaN (no price, no size) is None in an OrderRow; rare, so looked for before anything is replaced.
    if any(map(_isnan, prices)):  # type: ignore[arg-type]
        prices = [None if _isnan(price) else price for price in prices]  # type: ignore[arg-type]
    if any(map(_isnan, sizes)):  # type: ignore[arg-type]
        sizes = [None if _isnan(size) else size for size in sizes]  # type: ignore[arg-type]
    symbol_of = _symbols_of(symbols, context).__getitem__
    return list(
        zip(
            map(symbol_of, symbols),
            map(int, flags),
            map(int, indexes),
            [milli * 1_000_000 for milli in map(int, ms)],
            prices,
            sizes,
            map(SIDES.get, sides, repeat(Side.UNKNOWN)),
            strict=True,
        )
    )


def _time_and_sales(values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int) -> list[Trade]:
    sym, t, nano, index, price, size, aggressor, kind, flags = _columns(
        fields,
        "TimeAndSale",
        ("eventSymbol", "time", "timeNanoPart", "index", "price", "size", "aggressorSide", "type", "eventFlags"),
    )
    width = len(fields)
    trades: list[Trade] = []
    for row, start in enumerate(range(0, len(values), width)):
        record = values[start : start + width]
        if record[kind] not in NEW_PRINT or (type(record[flags]) is int and record[flags] & REMOVE_EVENT):
            continue
        px = _number(record[price], name="price", event_type="TimeAndSale", row=row)
        qty = _number(record[size], name="size", event_type="TimeAndSale", row=row)
        if px is None or qty is None:
            continue
        trades.append(
            Trade(
                context.symbol_of(record[sym]),
                _nanos(record[t], record[nano], row=row, event_type="TimeAndSale"),
                ts_recv,
                px,
                int(qty),
                SIDES.get(record[aggressor], Side.UNKNOWN),
                FEED,
                int(_number(record[index], name="index", event_type="TimeAndSale", row=row) or 0),
            )
        )
    return trades


def _last_sales(values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int) -> list[Trade]:
    sym, t, nano, seq, price, size = _columns(
        fields, "Trade", ("eventSymbol", "time", "timeNanoPart", "sequence", "price", "size")
    )
    width = len(fields)
    trades: list[Trade] = []
    for row, start in enumerate(range(0, len(values), width)):
        record = values[start : start + width]
        px = _number(record[price], name="price", event_type="Trade", row=row)
        qty = _number(record[size], name="size", event_type="Trade", row=row)
        if px is None or not qty:
            continue
        ts_event = _nanos(record[t], record[nano], row=row, event_type="Trade")
        number = int(_number(record[seq], name="sequence", event_type="Trade", row=row) or 0)
        trades.append(
            Trade(context.symbol_of(record[sym]), ts_event, ts_recv, px, int(qty), Side.UNKNOWN, FEED, number)
        )
    return trades


def _quotes(values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int) -> list[Quote]:
    sym, event_time, bid_time, ask_time, bid, ask, bid_size, ask_size = _columns(
        fields,
        "Quote",
        ("eventSymbol", "eventTime", "bidTime", "askTime", "bidPrice", "askPrice", "bidSize", "askSize"),
    )
    width = len(fields)
    quotes: list[Quote] = []
    for row, start in enumerate(range(0, len(values), width)):
        record = values[start : start + width]
        numbers = [
            _number(record[column], name=name, event_type="Quote", row=row)
            for column, name in ((bid, "bidPrice"), (ask, "askPrice"), (bid_size, "bidSize"), (ask_size, "askSize"))
        ]
        if any(value is None for value in numbers):
            continue
        bid_px, ask_px, bid_sz, ask_sz = (value or 0.0 for value in numbers)
        # The later side's time is the quote's; eventTime is often 0 on a live quote.
        times = [
            _number(record[column], name=name, event_type="Quote", row=row) or 0.0
            for column, name in ((bid_time, "bidTime"), (ask_time, "askTime"), (event_time, "eventTime"))
        ]
        ts_event = int(max(times)) * 1_000_000 or ts_recv
        quotes.append(
            Quote(context.symbol_of(record[sym]), ts_event, ts_recv, bid_px, int(bid_sz), ask_px, int(ask_sz), FEED)
        )
    return quotes


def _orders(values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int) -> list[OrderRow]:
    sym, flags, index, t, price, size, side = _columns(
        fields, "Order", ("eventSymbol", "eventFlags", "index", "time", "price", "size", "side")
    )
    width = len(fields)
    rows: list[OrderRow] = []
    for row, start in enumerate(range(0, len(values), width)):
        record = values[start : start + width]
        number = _number(record[index], name="index", event_type="Order", row=row)
        if number is None:
            raise MalformedMessageError("bad_value:Order", "index is NaN", f"data.Order[{row}].index")
        rows.append(
            (
                context.symbol_of(record[sym]),
                int(_number(record[flags], name="eventFlags", event_type="Order", row=row) or 0),
                int(number),
                int(_number(record[t], name="time", event_type="Order", row=row) or 0) * 1_000_000,
                _number(record[price], name="price", event_type="Order", row=row),
                _number(record[size], name="size", event_type="Order", row=row),
                SIDES.get(record[side], Side.UNKNOWN),
            )
        )
    return rows


def _nanos(millis: Any, nano_part: Any, *, row: int, event_type: str) -> int:
    ms = _number(millis, name="time", event_type=event_type, row=row)
    if ms is None:
        raise MalformedMessageError(f"bad_value:{event_type}", "time is NaN", f"data.{event_type}[{row}].time")
    return int(ms) * 1_000_000 + int(_number(nano_part, name="timeNanoPart", event_type=event_type, row=row) or 0)


SUMMARY_FIELDS = (
    "eventSymbol", "eventTime", "dayId", "dayOpenPrice", "dayHighPrice", "dayLowPrice", "dayClosePrice",
    "dayClosePriceType", "prevDayId", "prevDayClosePrice", "prevDayClosePriceType", "prevDayVolume", "openInterest",
)  # fmt: skip
GREEKS_FIELDS = (
    "eventSymbol", "eventTime", "eventFlags", "time", "price", "volatility", "delta", "gamma", "theta", "rho", "vega",
)  # fmt: skip


def _keep_latest(
    event_type: str, values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int
) -> None:
    """Each symbol's newest Summary or Greeks, kept for the client to store. The run is checked
    whole before any is kept: a bad row dead-letters it and keeps nothing of it."""
    if event_type == "Summary":
        context.summaries.update(_summaries(values, fields, context, ts_recv))
    else:
        context.greeks.update(_greeks(values, fields, context, ts_recv))


def _text_or_none(value: Any, *, name: str, event_type: str, row: int) -> str | None:
    if value is None or value in NAN_VALUES:
        return None
    if not isinstance(value, str):
        raise MalformedMessageError(
            f"bad_value:{event_type}", f"{name} is {value!r}, not a string", f"data.{event_type}[{row}].{name}"
        )
    return value[:32]


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


def _summaries(
    values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int
) -> dict[str, VendorSummary]:
    """The last Summary of each symbol in the run (a later row of a symbol replaces an earlier one)."""
    columns = _columns(fields, "Summary", SUMMARY_FIELDS)
    width = len(fields)
    latest: dict[str, VendorSummary] = {}
    for row, start in enumerate(range(0, len(values), width)):
        record = values[start : start + width]
        sym, event_time, day_id, day_open, high, low, close, close_type, prev_id, prev_close, prev_type, volume, oi = (
            record[column] for column in columns
        )

        def number(value: Any, name: str, row: int = row) -> float | None:
            return _number(value, name=name, event_type="Summary", row=row)

        def text(value: Any, name: str, row: int = row) -> str | None:
            return _text_or_none(value, name=name, event_type="Summary", row=row)

        symbol = context.symbol_of(sym)
        latest[symbol] = VendorSummary(
            symbol=symbol,
            feed=FEED,
            ts_event_ms=int(number(event_time, "eventTime") or 0),
            ts_recv=ts_recv,
            day_id=_int_or_none(number(day_id, "dayId")),
            day_open=number(day_open, "dayOpenPrice"),
            day_high=number(high, "dayHighPrice"),
            day_low=number(low, "dayLowPrice"),
            day_close=number(close, "dayClosePrice"),
            day_close_type=text(close_type, "dayClosePriceType"),
            prev_day_id=_int_or_none(number(prev_id, "prevDayId")),
            prev_day_close=number(prev_close, "prevDayClosePrice"),
            prev_day_close_type=text(prev_type, "prevDayClosePriceType"),
            prev_day_volume=number(volume, "prevDayVolume"),
            open_interest=number(oi, "openInterest"),
        )
    return latest


def _greeks(values: list[Any], fields: tuple[str, ...], context: ParseContext, ts_recv: int) -> dict[str, VendorGreeks]:
    """The last Greeks of each symbol in the run; a removed row (eventFlags REMOVE) is skipped."""
    columns = _columns(fields, "Greeks", GREEKS_FIELDS)
    width = len(fields)
    latest: dict[str, VendorGreeks] = {}
    for row, start in enumerate(range(0, len(values), width)):
        record = values[start : start + width]
        sym, event_time, flags, at, price, volatility, delta, gamma, theta, rho, vega = (
            record[column] for column in columns
        )

        def number(value: Any, name: str, row: int = row) -> float | None:
            return _number(value, name=name, event_type="Greeks", row=row)

        if int(number(flags, "eventFlags") or 0) & REMOVE_EVENT:
            continue
        symbol = context.symbol_of(sym)
        latest[symbol] = VendorGreeks(
            symbol=symbol,
            feed=FEED,
            ts_event_ms=int(number(at, "time") or number(event_time, "eventTime") or 0),
            ts_recv=ts_recv,
            price=number(price, "price"),
            volatility=number(volatility, "volatility"),
            delta=number(delta, "delta"),
            gamma=number(gamma, "gamma"),
            theta=number(theta, "theta"),
            rho=number(rho, "rho"),
            vega=number(vega, "vega"),
        )
    return latest
