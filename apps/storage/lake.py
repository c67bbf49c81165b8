"""The lake's layout and how a file gets into it.

    {LAKE}/{table}/date=YYYY-MM-DD/symbol={SYM}/{first_id}_{last_id}.parquet

Files are immutable and appear whole: written to a hidden temporary name in the same
directory, fsynced, renamed, and the directory fsynced. A name is a function of the stream range
it holds, so flushing the same range again replaces a file with an identical one.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from apps.storage.registry import lake_table


def partition_dir(*, lake: Path, table: str, day: date, symbol: str) -> Path:
    lake_table(table)  # refuses a name no app registered
    return lake / table / f"date={day.isoformat()}" / f"symbol={symbol}"


def file_name(first_id: str, last_id: str) -> str:
    return f"{first_id}_{last_id}.parquet"


def temp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.tmp-{os.getpid()}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(table: pa.Table, final: Path) -> Path:
    """Write `table` next to `final` under a temporary name, durably; returns that name."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(final)
    pq.write_table(table, temp, compression="zstd")
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return temp


def publish(temp: Path, final: Path) -> None:
    """Atomically give the file its final name (replacing an identical one from an earlier try)."""
    os.replace(temp, final)
    _fsync_dir(final.parent)


def remove_stale_temps(directory: Path) -> int:
    """Temporary files a crashed flush left behind; they never count as data."""
    removed = 0
    if directory.is_dir():
        for path in directory.glob(".*.parquet.tmp-*"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
