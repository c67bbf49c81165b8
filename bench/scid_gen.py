"""Large .scid files generated with numpy (for bench/scid.py and the kill test): trades only,
`per_day` records on each of `days` consecutive days, alternately at the ask and at the bid."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from apps.batch.sierra_files import SCID_RECORD

CHUNK = 2_000_000
SC_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)


def sc_us(moment: datetime) -> int:
    delta = moment - SC_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def scid_header() -> bytes:
    return struct.pack("<4sIIHHI36s", b"SCID", 56, 40, 1, 0, 0, b"\0" * 36)


def generate_scid(path: Path, *, start: datetime, days: int, per_day: int) -> int:
    """Write the file in chunks (never all of it in memory); returns the number of records."""
    first_us = sc_us(start.astimezone(UTC))
    step_us = max(1, (20 * 3600 * 1_000_000) // per_day)  # spread over 20 hours of each day
    total = days * per_day
    with path.open("wb") as handle:
        handle.write(scid_header())
        for offset in range(0, total, CHUNK):
            index = np.arange(offset, min(total, offset + CHUNK), dtype=np.int64)
            day, within = np.divmod(index, per_day)
            records = np.zeros(len(index), dtype=SCID_RECORD)
            records["datetime"] = first_us + day * 86_400_000_000 + within * step_us
            price = (6000.0 + (index % 40) * 0.25).astype(np.float32)
            at_ask = index % 2 == 0
            records["high"] = price + np.float32(0.25)
            records["low"] = price
            records["close"] = np.where(at_ask, records["high"], price)
            records["num_trades"] = 1
            size = (index % 5 + 1).astype(np.uint32)
            records["total_volume"] = size
            records["ask_volume"] = np.where(at_ask, size, 0)
            records["bid_volume"] = np.where(at_ask, 0, size)
            handle.write(records.tobytes())
    return total
