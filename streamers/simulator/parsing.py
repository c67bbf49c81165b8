"""Simulator wire format -> normalized events. Pure: bytes in, events out."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from apps.marketdata.events import DepthSnapshot, DepthUpdate, Event, Level, Quote, Side, Trade
from streamers.feed import MalformedMessageError

FEED = "simulator"
_decoder = msgspec.json.Decoder()
SIDES = {"B": Side.BUY, "S": Side.SELL, "A": Side.SELL}


def _field(message: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in message:
        raise MalformedMessageError(str(message.get("type", "unknown")), f"missing field {name!r}", f"$.{name}")
    value = message[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedMessageError(
            str(message.get("type", "unknown")), f"field {name!r} has the wrong type: {value!r}", f"$.{name}"
        )
    return value


def _levels(message: dict[str, Any], name: str) -> tuple[Level, ...]:
    raw = _field(message, name, list)
    try:
        return tuple(Level(float(price), int(size)) for price, size in raw)
    except (TypeError, ValueError) as error:
        raise MalformedMessageError("book", f"bad level in {name!r}: {error}", f"$.{name}") from None


def parse_message(message: dict[str, Any], *, ts_recv: int) -> Event:
    kind = message.get("type")
    symbol = _field(message, "sym", str)
    ts = _field(message, "t", int)
    number = (int, float)
    if kind == "trade":
        side = SIDES.get(_field(message, "side", str))
        if side is None:
            raise MalformedMessageError("trade", f"unknown side {message['side']!r}", "$.side")
        return Trade(
            symbol,
            ts,
            ts_recv,
            float(_field(message, "px", number)),
            _field(message, "sz", int),
            side,
            FEED,
            int(message.get("seq", 0)),
        )
    if kind == "quote":
        return Quote(
            symbol,
            ts,
            ts_recv,
            float(_field(message, "bid", number)),
            _field(message, "bsz", int),
            float(_field(message, "ask", number)),
            _field(message, "asz", int),
            FEED,
        )
    if kind == "book":
        return DepthSnapshot(symbol, ts, ts_recv, _levels(message, "bids"), _levels(message, "asks"), FEED)
    if kind == "level":
        side = {"B": Side.BUY, "A": Side.SELL}.get(_field(message, "side", str))
        if side is None:
            raise MalformedMessageError("level", f"unknown side {message['side']!r}", "$.side")
        return DepthUpdate(
            symbol, ts, ts_recv, side, float(_field(message, "px", number)), _field(message, "sz", int), FEED
        )
    raise MalformedMessageError(f"unknown:{kind}"[:40], f"unknown message type {kind!r}", "$.type")


class _Trade(msgspec.Struct, gc=False, tag_field="type", tag="trade"):
    sym: str
    t: int
    px: float
    sz: int
    side: Literal["B", "S"]
    seq: int = 0


class _Quote(msgspec.Struct, gc=False, tag_field="type", tag="quote"):
    sym: str
    t: int
    bid: float
    bsz: int
    ask: float
    asz: int


class _Book(msgspec.Struct, gc=False, tag_field="type", tag="book"):
    sym: str
    t: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class _Level(msgspec.Struct, gc=False, tag_field="type", tag="level"):
    sym: str
    t: int
    side: Literal["B", "A"]
    px: float
    sz: int


class _Heartbeat(msgspec.Struct, gc=False, tag_field="type", tag="heartbeat"):
    pass


_Message = _Trade | _Quote | _Book | _Level | _Heartbeat
_typed = msgspec.json.Decoder(list[_Message])


def _fast(frame: list[_Message], ts_recv: int) -> list[Event]:
    events: list[Event] = []
    append = events.append
    for m in frame:
        if type(m) is _Trade:
            append(Trade(m.sym, m.t, ts_recv, m.px, m.sz, Side.BUY if m.side == "B" else Side.SELL, FEED, m.seq))
        elif type(m) is _Level:
            append(DepthUpdate(m.sym, m.t, ts_recv, Side.BUY if m.side == "B" else Side.SELL, m.px, m.sz, FEED))
        elif type(m) is _Quote:
            append(Quote(m.sym, m.t, ts_recv, m.bid, m.bsz, m.ask, m.asz, FEED))
        elif type(m) is _Book:
            append(DepthSnapshot(m.sym, m.t, ts_recv, m.bids, m.asks, FEED))
    return events


def parse(raw: bytes | str, *, ts_recv: int) -> list[Event]:
    """A frame is one message object or a JSON array of them.

    Well-formed array frames take a typed decode (msgspec validates while it parses); anything
    else goes through the checking parser below, which names the kind and location of a fault.
    """
    try:
        return _fast(_typed.decode(raw), ts_recv)
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    try:
        decoded = _decoder.decode(raw)
    except msgspec.DecodeError as error:
        raise MalformedMessageError("invalid_json", str(error), "frame") from None
    messages = decoded if isinstance(decoded, list) else [decoded]
    events = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise MalformedMessageError(
                "not_an_object", f"expected an object, got {type(message).__name__}", f"$[{index}]"
            )
        if message.get("type") == "heartbeat":
            continue
        events.append(parse_message(message, ts_recv=ts_recv))
    return events
