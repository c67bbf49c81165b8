"""From stream entries (and lake rows) to `AlertInput`s, one decoder per source.

The hot-store layouts are the producers': market-data trades are blocks (`d`) of one symbol's
trades (`apps/marketdata/blocks.py`), GEX snapshots one JSON snapshot per entry (`d`), and the
Unusual Whales streams one event per entry (`apps/uw/events.py` as JSON in `d`: UW's field names,
decimals as exact strings, `ts_event` in ns). A raw UW payload (epoch-ms `executed_at`) reads the
same. The backtest hands the UW lake tables' rows (the same fields, Decimal and date values) to
the same decoders, so the live engine and the backtest evaluate identical inputs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from apps.alerts.inputs import AlertInput
from apps.alerts.models import Source
from apps.core import keys
from apps.core.clock import EXCHANGE_TZ
from apps.core.codec import loads
from apps.gex.snapshots import GEXSnapshot, snapshot_decode
from apps.marketdata.blocks import decode_trades
from apps.marketdata.events import Side, Trade

NS = 1_000_000_000
MINUTE_NS = 60 * NS
_OCC = re.compile(r"^(?P<root>[A-Z.]{1,6})(?P<y>\d\d)(?P<m>\d\d)(?P<d>\d\d)(?P<cp>[CP])(?P<strike>\d{8})$")
_SIDE_TAGS = {"ask_side": "ask", "bid_side": "bid", "mid_side": "mid"}
_TRADE_SIDES = {Side.BUY: "ask", Side.SELL: "bid", Side.UNKNOWN: None}


class InputError(ValueError):
    """A stream entry a source cannot read; the message names the field."""


@dataclass(frozen=True)
class StreamKind:
    """A family of hot streams and the sources evaluated on it."""

    name: str
    pattern: str  # SCAN pattern of its keys (a single key for the UW streams)
    sources: tuple[Source, ...]
    per_symbol: bool


STREAM_KINDS = (
    StreamKind("md_trades", "md:trades:{*}", (Source.MD_TRADES, Source.MD_BARS), True),
    StreamKind("gex_snapshots", "gex:snapshots:{*}", (Source.GEX_SNAPSHOTS,), True),
    StreamKind("uw_option_trades", keys.UW_OPTION_TRADES, (Source.UW_OPTION_TRADES,), False),
    StreamKind("uw_flow_alerts", keys.UW_FLOW_ALERTS, (Source.UW_FLOW_ALERTS,), False),
    StreamKind("uw_market_tide", keys.UW_MARKET_AGGS, (Source.UW_MARKET_TIDE,), False),
)
KIND_OF_SOURCE = {source: kind for kind in STREAM_KINDS for source in kind.sources}


def symbol_of_key(key: str) -> str:
    """`md:trades:{ESZ25}` → `ESZ25`; in a replay's sandbox `replay:{r1}:md:trades:ESZ25` → `ESZ25`."""
    if key.startswith(keys.REPLAY_PREFIX):
        return key.rsplit(":", 1)[1]
    start, end = key.find("{"), key.rfind("}")
    if start < 0 or end <= start:
        raise InputError(f"stream {key!r} has no {{symbol}}")
    return key[start + 1 : end]


# -- field readers --------------------------------------------------------------------------


def _decimal(payload: dict[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    value = payload.get(name)
    if type(value) is Decimal:
        if not value.is_finite():
            raise InputError(f"{name} {value!r} is not a finite number")
        return value
    if value is None or value == "":
        if required:
            raise InputError(f"{name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{name} must be a decimal string or a number, not {type(value).__name__}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"{name} {value!r} is not a number") from None
    if not number.is_finite():
        raise InputError(f"{name} {value!r} is not a finite number")
    return number


def _float(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is Decimal:
        value = str(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{name} must be a decimal string or a number, not {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"{name} {value!r} is not a finite number")
    return number


def _int(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if type(value) is int:  # the usual case, first: this runs for every rule that reads a count
        return value
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"{name} must be an integer, not {type(value).__name__}")
    try:
        return int(value)
    except ValueError:
        raise InputError(f"{name} {value!r} is not an integer") from None


def _event_ns(payload: dict[str, Any], name: str) -> int:
    """The event's time in ns: our events' `ts_event`, else UW's epoch milliseconds in `name`."""
    ts_event = payload.get("ts_event")
    if type(ts_event) is int:
        return ts_event
    return _ms(payload, name)


def _ms(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if type(value) is int:
        return value * 1_000_000
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} must be epoch milliseconds (a number)")
    return int(value) * 1_000_000


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if type(value) is not str or not value:
        raise InputError(f"{name} must be a non-empty string")
    return value


def _occ(symbol: str) -> tuple[date, str, float] | None:
    """Expiry, call/put and strike of an OCC option symbol such as `DIA241018C00415000`."""
    found = _OCC.match(symbol)
    if not found:
        return None
    try:
        expiry = date(2000 + int(found["y"]), int(found["m"]), int(found["d"]))
    except ValueError:
        return None
    return expiry, "call" if found["cp"] == "C" else "put", int(found["strike"]) / 1000


def _payload(fields: dict[bytes, bytes] | None) -> dict[str, Any]:
    if fields is None:
        raise InputError("the entry was trimmed before it was read")
    data = fields.get(b"d")
    if data is None:
        raise InputError("the entry has no `d` field")
    try:
        payload = loads(data)
    except ValueError as error:
        raise InputError(f"d is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise InputError("d must be a JSON object")
    return payload


# -- UW -------------------------------------------------------------------------------------


def _side(payload: dict[str, Any]) -> str | None:
    return next((_SIDE_TAGS[tag] for tag in _list(payload, "tags") if tag in _SIDE_TAGS), None)


def _list(payload: dict[str, Any], name: str) -> list[Any]:
    value = payload.get(name) or []
    if not isinstance(value, list):
        raise InputError(f"{name} must be a list")
    return value


class OptionTradeInput(AlertInput):
    """A UW option trade read lazily: the fields every rule needs (time, underlying, contract, id)
    at once, the others from the payload when a condition first asks (most trades meet no rule
    that reads their greeks, flags or expiry; at thousands of trades a second parsing every
    decimal of every trade would be most of the engine's time). A field read is kept in its slot,
    so the next rule reads it as a plain attribute; a malformed field raises InputError each time
    it is read, and is never kept."""

    __slots__ = ()

    def __init__(self, *, stream: str, position: str, payload: dict[str, Any]) -> None:
        self.stream = stream
        self.position = position
        self.ts_ns = _event_ns(payload, "executed_at")
        self.symbol = _text(payload, "underlying_symbol")
        self.series = self.symbol
        self.contract = _text(payload, "option_symbol")
        self.uid = str(payload.get("id") or position)
        self.raw = payload
        self.feed = None
        self.net_call_premium = None
        self.net_put_premium = None
        self.gex = None

    def __getattr__(self, name: str) -> Any:
        # Called only while the slot `name` is empty: parse the field once and fill it.
        read = _LAZY.get(name)
        if read is None:
            raise AttributeError(name)
        value = read(self)
        setattr(self, name, value)
        return value

    def _option_type(self) -> str | None:
        option_type = self.raw.get("option_type")
        if option_type is None:
            occ = _occ(self.contract or "")
            return occ[1] if occ else None
        if option_type not in {"call", "put"}:
            raise InputError(f"option_type {option_type!r} is neither call nor put")
        return str(option_type)

    def _expiry(self) -> date | None:
        text = self.raw.get("expiry")
        if type(text) is date:
            return text
        if isinstance(text, str):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise InputError(f"expiry {text!r} is not YYYY-MM-DD") from None
        occ = _occ(self.contract or "")
        return occ[0] if occ else None

    def _sweep(self) -> bool:
        raw = self.raw
        code = str(raw.get("trade_code") or "")
        return "sweep" in _list(raw, "tags") or "sweep" in _list(raw, "report_flags") or code.lower() == "isoi"

    def _multileg(self) -> bool:
        code = str(self.raw.get("trade_code") or "")
        return (_int(self.raw, "multi_vol") or 0) > 0 or code.lower().startswith("ml")

    def _opening(self) -> bool | None:
        # UW does not mark a single trade opening; a day's volume above the open interest can
        # only come from opening trades.
        volume, open_interest = self.volume, self.open_interest
        return None if volume is None or open_interest is None else volume > open_interest


# How each lazily read field of an option trade is parsed from its payload.
_LAZY: dict[str, Callable[[OptionTradeInput], Any]] = {
    "premium": lambda item: _decimal(item.raw, "premium"),
    "price": lambda item: _float(item.raw, "price"),
    "size": lambda item: _int(item.raw, "size"),
    "strike": lambda item: _float(item.raw, "strike"),
    "underlying_price": lambda item: _float(item.raw, "underlying_price"),
    "volume": lambda item: _int(item.raw, "volume"),
    "open_interest": lambda item: _int(item.raw, "open_interest"),
    "side": lambda item: _side(item.raw),
    "option_type": OptionTradeInput._option_type,
    "expiry": OptionTradeInput._expiry,
    "sweep": OptionTradeInput._sweep,
    "multileg": OptionTradeInput._multileg,
    "opening": OptionTradeInput._opening,
}


def uw_option_trade(stream: str, position: str, payload: dict[str, Any]) -> AlertInput:
    return OptionTradeInput(stream=stream, position=position, payload=payload)


def uw_flow_alert(stream: str, position: str, payload: dict[str, Any]) -> AlertInput:
    contract = _text(payload, "option_chain")
    occ = _occ(contract)
    ask, bid = _decimal(payload, "total_ask_side_prem"), _decimal(payload, "total_bid_side_prem")
    side = None
    if ask is not None and bid is not None and ask != bid:
        side = "ask" if ask > bid else "bid"
    return AlertInput(
        stream=stream,
        position=position,
        ts_ns=_event_ns(payload, "executed_at" if "executed_at" in payload else "end_time"),
        symbol=_text(payload, "ticker"),
        contract=contract,
        uid=str(payload.get("id") or position),
        raw=payload,
        price=_float(payload, "price"),
        size=_int(payload, "total_size"),
        side=side,
        premium=_decimal(payload, "total_premium"),
        option_type=occ[1] if occ else None,
        expiry=occ[0] if occ else None,
        strike=occ[2] if occ else None,
        underlying_price=_float(payload, "underlying_price"),
        sweep=bool(payload.get("has_sweep")),
        multileg=bool(payload.get("has_multileg")),
        opening=bool(payload.get("all_opening_trades")),
        volume=_int(payload, "volume"),
        open_interest=_int(payload, "open_interest"),
    )


def uw_market_tide(stream: str, position: str, payload: dict[str, Any]) -> AlertInput:
    stamp = payload.get("timestamp")
    if type(payload.get("ts_event")) is int:
        ts_ns = payload["ts_event"]
    elif isinstance(stamp, int | float) and not isinstance(stamp, bool):
        ts_ns = int(stamp) * 1_000_000
    elif isinstance(stamp, str):
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            raise InputError(f"timestamp {stamp!r} is not ISO 8601") from None
        if moment.tzinfo is None:
            raise InputError(f"timestamp {stamp!r} has no time zone")
        ts_ns = int(moment.timestamp()) * NS
    else:
        raise InputError("timestamp is missing")
    return AlertInput(
        stream=stream,
        position=position,
        ts_ns=ts_ns,
        symbol=str(payload.get("ticker") or "MARKET"),
        uid=str(payload.get("id") or f"tide:{ts_ns}"),
        raw=payload,
        net_call_premium=_decimal(payload, "net_call_premium", required=True),
        net_put_premium=_decimal(payload, "net_put_premium", required=True),
        volume=_int(payload, "net_volume"),
    )


_UW_DECODERS: dict[Source, Callable[[str, str, dict[str, Any]], AlertInput]] = {
    Source.UW_OPTION_TRADES: uw_option_trade,
    Source.UW_FLOW_ALERTS: uw_flow_alert,
    Source.UW_MARKET_TIDE: uw_market_tide,
}


# -- market data and GEX --------------------------------------------------------------------


def trade_input(stream: str, position: str, trade: Trade) -> AlertInput:
    return AlertInput(
        stream=stream,
        position=position,
        ts_ns=trade.ts_event,
        symbol=trade.symbol,
        uid=f"{trade.symbol}:{trade.feed}:{trade.ts_event}:{trade.price}:{trade.size}:{int(trade.side)}",
        raw={
            "price": trade.price,
            "size": trade.size,
            "side": _TRADE_SIDES[trade.side] or "unknown",
            "feed": trade.feed,
        },
        price=trade.price,
        size=trade.size,
        feed=trade.feed,
        side=_TRADE_SIDES[trade.side],
    )


def gex_input(stream: str, position: str, snapshot: GEXSnapshot) -> AlertInput:
    levels = {
        name: getattr(snapshot, name)
        for name in ("spot", "zero_gamma", "major_pos_vol", "major_neg_vol", "major_pos_oi", "major_neg_oi")
    }
    return AlertInput(
        stream=stream,
        position=position,
        ts_ns=snapshot.timestamp * NS,
        symbol=snapshot.ticker,
        uid=f"{snapshot.ticker}:{snapshot.package}:{snapshot.category}:{snapshot.timestamp}",
        raw={
            "ticker": snapshot.ticker,
            "package": snapshot.package,
            "category": snapshot.category,
            "timestamp": snapshot.timestamp,
            "source": snapshot.source,
            **levels,
        },
        price=snapshot.spot,
        gex=snapshot,
        series=f"{snapshot.ticker}:{snapshot.package}:{snapshot.category}",
    )


class BarBuilder:
    """One-minute bars of each symbol, from its trades in stream order. A bar is complete when a
    trade of a later minute arrives; that trade's position is the bar's (so a bar is evaluated
    exactly once, where the evidence that it closed sits in the stream)."""

    def __init__(self) -> None:
        self._bars: dict[str, list[Any]] = {}

    def add(self, item: AlertInput) -> AlertInput | None:
        if item.price is None or item.size is None:
            return None
        minute = item.ts_ns - item.ts_ns % MINUTE_NS
        bar = self._bars.get(item.symbol)
        closed = None
        if bar is not None and minute > bar[0]:
            start, open_, high, low, close, volume = bar
            closed = AlertInput(
                stream=item.stream,
                position=item.position,
                ts_ns=start + MINUTE_NS,
                symbol=item.symbol,
                uid=f"{item.symbol}:bar:{start}",
                raw={"start": start, "open": open_, "high": high, "low": low, "close": close, "volume": volume},
                price=close,
                volume=volume,
                series=f"{item.symbol}:1m",
            )
            bar = None
        if bar is None or minute < bar[0]:
            self._bars[item.symbol] = [minute, item.price, item.price, item.price, item.price, item.size]
        else:
            bar[2], bar[3], bar[4], bar[5] = (
                max(bar[2], item.price),
                min(bar[3], item.price),
                item.price,
                bar[5] + item.size,
            )
        return closed


def entry_inputs(kind: StreamKind, stream: str, entry_id: str, fields: dict[bytes, bytes] | None) -> list[AlertInput]:
    """The inputs of one stream entry (several for a block of trades); InputError when it cannot be read."""
    if kind.name == "md_trades":
        if fields is None or b"d" not in fields:
            raise InputError("the entry has no `d` block")
        try:
            trades = decode_trades(symbol_of_key(stream), fields[b"d"])
        except (ValueError, KeyError, IndexError) as error:
            raise InputError(f"d is not a trade block: {error}") from None
        return [trade_input(stream, f"{entry_id}:{index}", trade) for index, trade in enumerate(trades)]
    if kind.name == "gex_snapshots":
        if fields is None or b"d" not in fields:
            raise InputError("the entry has no `d` snapshot")
        try:
            snapshot = snapshot_decode(fields[b"d"])
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise InputError(f"d is not a GEX snapshot: {error}") from None
        return [gex_input(stream, entry_id, snapshot)]
    return [_UW_DECODERS[kind.sources[0]](stream, entry_id, _payload(fields))]


def uw_inputs(source: Source, stream: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> list[AlertInput]:
    """UW inputs from (position, payload) pairs: how the backtest reads the UW lake tables."""
    decode = _UW_DECODERS[source]
    return [decode(stream, position, payload) for position, payload in rows]


def exchange_date(ts_ns: int) -> date:
    return datetime.fromtimestamp(ts_ns / NS, tz=UTC).astimezone(EXCHANGE_TZ).date()
