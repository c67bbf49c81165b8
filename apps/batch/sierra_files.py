"""Sierra Chart's binary files, read without loading them whole: intraday data (`.scid`: a
56-byte header, 40-byte records) and market depth (`.depth`: a 64-byte header, 24-byte records).
Formats: docs/architecture.md "Batch jobs" and the Sierra Chart documentation.

A file is opened as a read-only memory map of its whole records; chunks are numpy views on it,
so a 50M-record file costs its page cache, not its size in Python objects. A trailing partial
record (a file caught while Sierra Chart writes it) is left out and reported. Every error names
the file, the byte offset or record index, and the reason.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.batch.jobs import JobError

SCID_MAGIC = b"SCID"
SCID_HEADER = struct.Struct("<4sIIHHI36s")  # magic, header size, record size, version, unused, UTCStartIndex
SCID_HEADER_SIZE = 56
SCID_RECORD = np.dtype(
    [("datetime", "<i8"), ("open", "<f4"), ("high", "<f4"), ("low", "<f4"), ("close", "<f4"),
     ("num_trades", "<u4"), ("total_volume", "<u4"), ("bid_volume", "<u4"), ("ask_volume", "<u4")]
)  # fmt: skip
DEPTH_MAGIC = 0x44444353  # "SCDD"
DEPTH_HEADER = struct.Struct("<IIII48s")  # magic, header size, record size, version, reserve
DEPTH_HEADER_SIZE = 64
DEPTH_RECORD = np.dtype(
    [("datetime", "<i8"), ("command", "u1"), ("flags", "u1"), ("num_orders", "<u2"), ("price", "<f4"),
     ("quantity", "<u4"), ("reserved", "<u4")]
)  # fmt: skip
# Markers in Open of the sub-trades of an unbundled trade (float32 bit patterns, IntradayRecord.h).
FIRST_SUB_TRADE_BITS = 0xFD709EF9
LAST_SUB_TRADE_BITS = 0xFD709F01
# 1899-12-30 (Sierra Chart's day 0) to 1970-01-01, in microseconds: 25,569 days.
SC_EPOCH_TO_UNIX_US = 25_569 * 86_400_000_000
US_PER_DAY = 86_400_000_000
# Times a record may carry: 1970 to 2200. Outside, the int64 is not microseconds (an old file's
# double day count, or garbage).
_MIN_SC_US, _MAX_SC_US = SC_EPOCH_TO_UNIX_US, SC_EPOCH_TO_UNIX_US + 230 * 365 * US_PER_DAY
_MIN_DAYS, _MAX_DAYS = 20_000.0, 110_000.0
CHUNK_RECORDS = 500_000
# A price is a float32: keep the 7 significant digits it holds (4500.1, not 4500.10009765625).
_PRICE_DIGITS = 7


class SierraFileError(JobError):
    """A file that is not what it claims, naming the file, the byte offset or record, and why."""

    def __init__(self, path: Path, reason: str, *, offset: int | None = None, record: int | None = None) -> None:
        where = []
        if offset is not None:
            where.append(f"byte {offset}")
        if record is not None:
            where.append(f"record {record}")
        place = f" ({', '.join(where)})" if where else ""
        super().__init__(f"{path}{place}: {reason}", {"file": str(path), "offset": offset, "record": record})


@dataclass(frozen=True)
class FileLayout:
    """What the header says and what the file holds."""

    path: Path
    header_size: int
    record_size: int
    version: int
    records: int  # whole records
    tail_bytes: int  # a trailing partial record, left out
    legacy_times: bool  # times are double days (old files), not int64 microseconds

    @property
    def size(self) -> int:
        return self.header_size + self.records * self.record_size + self.tail_bytes

    def offset_of(self, record: int) -> int:
        return self.header_size + record * self.record_size

    def tail_warning(self) -> str | None:
        if not self.tail_bytes:
            return None
        return (
            f"{self.path} (byte {self.offset_of(self.records)}, record {self.records}): a truncated last record of "
            f"{self.tail_bytes} of {self.record_size} bytes was ignored (the file was being written?)"
        )


def _read_header(path: Path, size: int, minimum: int) -> bytes:
    try:
        with path.open("rb") as handle:
            head = handle.read(minimum)
    except FileNotFoundError:
        raise SierraFileError(path, "no such file") from None
    except IsADirectoryError:
        raise SierraFileError(path, "is a directory") from None
    except OSError as error:
        raise SierraFileError(path, f"cannot be read: {error.strerror or error}") from None
    if len(head) < minimum:
        raise SierraFileError(path, f"the file is {size} bytes, shorter than the {minimum}-byte header", offset=0)
    return head


def _legacy_times(path: Path, first: bytes, layout_offset: int) -> bool:
    """Whether the first record's time is a double day count (old files) rather than int64 µs."""
    (as_int,) = struct.unpack("<q", first)
    if _MIN_SC_US <= as_int <= _MAX_SC_US:
        return False
    (as_days,) = struct.unpack("<d", first)
    if _MIN_DAYS <= as_days <= _MAX_DAYS:
        return True
    raise SierraFileError(
        path,
        f"the time {as_int} is neither microseconds since 1899-12-30 (1970..2200) nor a day count",
        offset=layout_offset,
        record=0,
    )


def scid_layout(path: Path) -> FileLayout:
    """Validate a `.scid` file's header (magic, header size, record size, version)."""
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    head = _read_header(path, size, SCID_HEADER_SIZE)
    magic, header_size, record_size, version, _unused, _utc_start, _reserve = SCID_HEADER.unpack(head)
    if magic != SCID_MAGIC:
        raise SierraFileError(path, f"not a Sierra Chart intraday file: starts with {magic!r}, not b'SCID'", offset=0)
    return _layout(path, size, header_size, record_size, version, SCID_HEADER_SIZE, SCID_RECORD.itemsize)


def depth_layout(path: Path) -> FileLayout:
    """Validate a `.depth` file's header."""
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    head = _read_header(path, size, DEPTH_HEADER_SIZE)
    magic, header_size, record_size, version, _reserve = DEPTH_HEADER.unpack(head)
    if magic != DEPTH_MAGIC:
        shown = struct.pack("<I", magic)
        raise SierraFileError(path, f"not a Sierra Chart depth file: starts with {shown!r}, not b'SCDD'", offset=0)
    return _layout(path, size, header_size, record_size, version, DEPTH_HEADER_SIZE, DEPTH_RECORD.itemsize)


def _layout(  # noqa: PLR0917 - the header's fields, in their order
    path: Path, size: int, header_size: int, record_size: int, version: int, known_header: int, known_record: int
) -> FileLayout:
    if header_size < known_header or header_size > size:
        raise SierraFileError(
            path, f"header size {header_size} is impossible (at least {known_header}, file is {size} bytes)", offset=4
        )
    if record_size != known_record:
        raise SierraFileError(
            path, f"record size {record_size} is not one this reader knows ({known_record})", offset=8
        )
    if version != 1:
        raise SierraFileError(path, f"version {version} is not one this reader knows (1)", offset=12)
    records, tail = divmod(size - header_size, record_size)
    legacy = False
    if records:
        with path.open("rb") as handle:
            handle.seek(header_size)
            legacy = _legacy_times(path, handle.read(8), header_size)
    return FileLayout(path, header_size, record_size, version, records, tail, legacy)


class RecordMap:
    """The whole records of a file as a read-only numpy memory map (`dtype`); chunks are views."""

    def __init__(self, layout: FileLayout, dtype: np.dtype) -> None:
        self.layout = layout
        self.records: np.ndarray = (
            np.memmap(layout.path, dtype=dtype, mode="r", offset=layout.header_size, shape=(layout.records,))
            if layout.records
            else np.empty(0, dtype=dtype)
        )

    def check_size(self, stop: int) -> None:
        """SierraFileError when the file no longer holds records up to `stop` (it shrank)."""
        size = os.stat(self.layout.path).st_size
        needed = self.layout.offset_of(stop)
        if size < needed:
            raise SierraFileError(
                self.layout.path,
                f"the file shrank to {size} bytes while being imported; it held {self.layout.size}",
                offset=size,
                record=stop - 1,
            )

    def chunks(self, start: int, stop: int, size: int = CHUNK_RECORDS) -> Iterator[tuple[int, np.ndarray]]:
        """(first record index, records) views over [start, stop), checking the file still holds them."""
        for first in range(start, stop, size):
            last = min(stop, first + size)
            self.check_size(last)
            yield first, self.records[first:last]


def unix_us(raw: np.ndarray, *, legacy: bool) -> np.ndarray:
    """Record times (the int64 field) as microseconds since 1970-01-01 UTC."""
    if legacy:
        days = raw.view("<f8")
        return np.rint(days * US_PER_DAY).astype(np.int64) - SC_EPOCH_TO_UNIX_US
    return raw.astype(np.int64, copy=False) - SC_EPOCH_TO_UNIX_US


def bad_times(raw: np.ndarray, *, legacy: bool) -> np.ndarray:
    """Indexes (in `raw`) of records whose time is out of 1970..2200."""
    if not legacy and len(raw) and raw.min() >= _MIN_SC_US and raw.max() <= _MAX_SC_US:
        return np.empty(0, dtype=np.intp)  # the usual chunk: two passes, no temporaries
    if legacy:
        days = raw.view("<f8")
        return np.flatnonzero(~((days >= _MIN_DAYS) & (days <= _MAX_DAYS)))
    return np.flatnonzero((raw < _MIN_SC_US) | (raw > _MAX_SC_US))


def float_prices(values: np.ndarray, multiplier: float = 1.0) -> np.ndarray:
    """float32 prices as float64 with the digits a float32 holds (4500.1 stays 4500.1)."""
    prices = values.astype(np.float64)
    if len(prices):
        # The usual chunk: every price of one decade (6000.25 .. 6100.5), one scale for all.
        low, high = float(prices.min()), float(prices.max())
        if 0 < low <= high or low <= high < 0:
            small, large = sorted((abs(low), abs(high)))
            digits = np.ceil(np.log10([small, large]))
            if digits[0] == digits[1]:
                scale = 10.0 ** (_PRICE_DIGITS - digits[0])
                prices *= scale
                np.rint(prices, out=prices)
                prices /= scale
                if multiplier != 1.0:
                    prices *= multiplier
                return prices
    magnitude = np.abs(prices)
    with np.errstate(divide="ignore"):
        digits = np.where(magnitude > 0, np.ceil(np.log10(np.where(magnitude > 0, magnitude, 1.0))), 0)
    scale = np.power(10.0, _PRICE_DIGITS - digits)
    rounded = np.rint(prices * scale) / scale
    return rounded * multiplier if multiplier != 1.0 else rounded


@dataclass(frozen=True)
class ScidKinds:
    """Masks over a chunk of `.scid` records: trades, bid/ask-only updates, and bars."""

    trades: np.ndarray
    quotes: np.ndarray
    bars: np.ndarray


def scid_classify(records: np.ndarray) -> ScidKinds:
    """As Sierra Chart's IntradayRecord.h: a tick is one trade whose Open is 0 or an unbundled
    sub-trade marker (High = ask, Low = bid, Close = the price); a tick without volume is a
    bid/ask-only update; anything else is a bar (Open/High/Low/Close over its trades)."""
    open_bits = records["open"].view("<u4")
    count = len(records)
    if count and _trades_only(records, open_bits):
        return ScidKinds(
            trades=np.ones(count, dtype=bool), quotes=np.zeros(count, dtype=bool), bars=np.zeros(count, dtype=bool)
        )
    tick = (records["num_trades"] == 1) & (
        (records["open"] == 0.0) | (open_bits == FIRST_SUB_TRADE_BITS) | (open_bits == LAST_SUB_TRADE_BITS)
    )
    quote = tick & (records["total_volume"] == 0) & (records["open"] == 0.0)
    quote &= (records["high"] != 0.0) & (records["low"] != 0.0)
    return ScidKinds(trades=tick & ~quote, quotes=quote, bars=~tick)


def _trades_only(records: np.ndarray, open_bits: np.ndarray) -> bool:
    """Whether every record is a trade with Open 0 (the usual chunk of a tick file), by a few
    reductions rather than a mask per condition."""
    trades = records["num_trades"]
    if trades.min() != 1 or trades.max() != 1 or records["total_volume"].min() == 0:
        return False
    return not (open_bits & np.uint32(0x7FFFFFFF)).any()  # +0.0 or -0.0


def trade_sides(records: np.ndarray) -> np.ndarray:
    """Aggressor side from the volume at bid and at ask: at the ask a buyer (1), at the bid a
    seller (2), neither or both equally unknown (0)."""
    ask, bid = records["ask_volume"], records["bid_volume"]
    sides = (ask > bid).view(np.int8)
    sides += (bid > ask).view(np.int8) * np.int8(2)
    return sides
