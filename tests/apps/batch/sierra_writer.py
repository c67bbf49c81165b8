"""Sierra Chart files written byte by byte for the tests, in the documented layouts."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SC_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
FIRST_SUB = struct.unpack("<f", struct.pack("<I", 0xFD709EF9))[0]
LAST_SUB = struct.unpack("<f", struct.pack("<I", 0xFD709F01))[0]


def sc_us(moment: datetime) -> int:
    """Microseconds since 1899-12-30 UTC (SCDateTimeMS)."""
    delta = moment - SC_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def sc_days(moment: datetime) -> float:
    """The legacy form: days since 1899-12-30 as a double."""
    return sc_us(moment) / 86_400_000_000


def scid_header(*, magic: bytes = b"SCID", header_size: int = 56, record_size: int = 40, version: int = 1) -> bytes:
    return struct.pack("<4sIIHHI36s", magic, header_size, record_size, version, 0, 0, b"\0" * 36)


@dataclass(frozen=True)
class Rec:
    at: datetime
    open: float
    high: float
    low: float
    close: float
    num_trades: int
    volume: int
    bid_volume: int
    ask_volume: int

    def pack(self, *, legacy: bool = False) -> bytes:
        time = struct.pack("<d", sc_days(self.at)) if legacy else struct.pack("<q", sc_us(self.at))
        return time + struct.pack(
            "<4f4I", self.open, self.high, self.low, self.close,
            self.num_trades, self.volume, self.bid_volume, self.ask_volume,
        )  # fmt: skip


def trade(at: datetime, price: float, *, bid: float, ask: float, size: int, at_ask: bool) -> Rec:
    """A single trade: Open 0, High the ask, Low the bid, volume at the ask or at the bid."""
    return Rec(at, 0.0, ask, bid, price, 1, size, 0 if at_ask else size, size if at_ask else 0)


def quote(at: datetime, *, bid: float, ask: float) -> Rec:
    """A bid/ask-only update: one 'trade' without volume."""
    return Rec(at, 0.0, ask, bid, bid, 1, 0, 0, 0)


def bar(at: datetime, o: float, h: float, lo: float, c: float, *, trades: int, volume: int, bid: int, ask: int) -> Rec:
    return Rec(at, o, h, lo, c, trades, volume, bid, ask)


def write_scid(path: Path, records: list[Rec], *, legacy: bool = False, tail: bytes = b"", header: bytes = b"") -> Path:
    path.write_bytes((header or scid_header()) + b"".join(r.pack(legacy=legacy) for r in records) + tail)
    return path


def append_scid(path: Path, records: list[Rec]) -> None:
    with path.open("ab") as handle:
        handle.write(b"".join(r.pack() for r in records))


def depth_header(*, magic: int = 0x44444353, header_size: int = 64, record_size: int = 24, version: int = 1) -> bytes:
    return struct.pack("<IIII48s", magic, header_size, record_size, version, b"\0" * 48)


def depth_record(
    at: datetime, command: int, *, price: float = 0.0, quantity: int = 0, flags: int = 0, orders: int = 0
) -> bytes:
    return struct.pack("<qBBHfII", sc_us(at), command, flags, orders, price, quantity, 0)


def write_depth(path: Path, records: list[bytes], *, tail: bytes = b"") -> Path:
    path.write_bytes(depth_header() + b"".join(records) + tail)
    return path
