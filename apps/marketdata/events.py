"""Normalized market-data events (schema version 1): what every feed's parser produces and
every sink consumes. msgspec Structs: typed, immutable, and fast to encode (see docs/benchmarks.md).

Times are integer nanoseconds since the Unix epoch, UTC: `ts_event` from the exchange,
`ts_recv` when our process received the message. Prices are floats (CME quarter ticks are exact
in binary); the hot store keeps them as integer hundredths.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec

SCHEMA_VERSION = 1
PRICE_SCALE = 100


class Side(IntEnum):
    """Aggressor side of a trade; for depth, BUY is the bid side and SELL the ask side."""

    UNKNOWN = 0
    BUY = 1
    SELL = 2


class Trade(msgspec.Struct, frozen=True, gc=False, tag="trade"):
    symbol: str
    ts_event: int
    ts_recv: int
    price: float
    size: int
    side: Side = Side.UNKNOWN
    feed: str = ""
    seq: int = 0


class Quote(msgspec.Struct, frozen=True, gc=False, tag="quote"):
    symbol: str
    ts_event: int
    ts_recv: int
    bid_price: float
    bid_size: int
    ask_price: float
    ask_size: int
    feed: str = ""


class Level(msgspec.Struct, frozen=True, gc=False, array_like=True):
    price: float
    size: int


class DepthSnapshot(msgspec.Struct, frozen=True, gc=False, tag="depth_snapshot"):
    """The full book, best level first on each side."""

    symbol: str
    ts_event: int
    ts_recv: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    feed: str = ""


class DepthUpdate(msgspec.Struct, frozen=True, gc=False, tag="depth_update"):
    """One level changed; size 0 removes the level."""

    symbol: str
    ts_event: int
    ts_recv: int
    side: Side
    price: float
    size: int
    feed: str = ""


Event = Trade | Quote | DepthSnapshot | DepthUpdate

# Feeds are stored as small integers in the hot store; append only, never renumber.
FEED_CODES: dict[str, int] = {
    "": 0,
    "simulator": 1,
    "replay": 2,
    "schwab": 3,
    "tastytrade": 4,
    "sierra": 5,
    "import": 6,
    "test": 7,
    "uw": 8,
}
FEED_NAMES = {code: name for name, code in FEED_CODES.items()}

_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder(Event)


def encode_json(event: Event) -> bytes:
    return _json_encoder.encode(event)


def decode_json(data: bytes | str) -> Event:
    """Raises msgspec.ValidationError / DecodeError naming the bad field."""
    return _json_decoder.decode(data)


def to_price_int(price: float) -> int:
    return round(price * PRICE_SCALE)


def from_price_int(value: int | bytes | str) -> float:
    return int(value) / PRICE_SCALE


def feed_code(feed: str) -> int:
    try:
        return FEED_CODES[feed]
    except KeyError:
        raise ValueError(f"unknown feed {feed!r}: add it to FEED_CODES in apps/marketdata/events.py") from None
