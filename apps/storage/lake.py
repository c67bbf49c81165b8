"""The lake's layout and how a file gets into it.

    {LAKE}/{table}/date=YYYY-MM-DD/symbol={SYM}/{first_id}_{last_id}.parquet

Every path a writer uses (the flush, the importers, compaction, GEX history through the flush) is
built here, by `partition_dir` and `partition_file`, from validated values only: a registered
table, a date, a canonical symbol (apps/marketdata/symbols.py) and a plain file name. The result
is resolved and refused unless it lies inside the lake, so no input can place a file elsewhere.

Files are immutable and appear whole: written to a hidden temporary name in the same
directory, fsynced, renamed, and the directory fsynced. A name is a function of the stream range
it holds, so flushing the same range again replaces a file with an identical one.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from apps.core.exceptions import BadInputError
from apps.marketdata.symbols import SymbolError, canonical_check
from apps.storage.registry import LakeTableError, lake_table

# A file name inside a partition: stream ids (`1795650000000-0`), digests, no separators.
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,200}\.parquet$")
STAGING = ".staging"


class LakePathError(BadInputError, ValueError):
    """A value that cannot name a place in the lake; the message names the value. A ValueError
    too, so the flush reports one bad stream and goes on with the others."""


def _inside(lake: Path, path: Path, *, field: str, value: str) -> Path:
    root, resolved = lake.resolve(), path.resolve()
    if not resolved.is_relative_to(root):
        raise LakePathError(field, f"{field} {value!r} would write to {resolved}, outside the lake {root}; refused")
    return path


def partition_dir(*, lake: Path, table: str, day: date, symbol: str) -> Path:
    """The directory of one table, UTC day and symbol: the one place lake paths are made.

    LakePathError naming the value for a table no app registered, a symbol that is not canonical
    (`ES` is a GEX ticker here; market-data writers resolve aliases before), or a result outside
    `lake` (a symlink planted in the lake cannot lead out either)."""
    try:
        lake_table(table)
    except LakeTableError as error:
        raise LakePathError("table", str(error)) from None
    if type(day) is not date:
        raise LakePathError("date", f"date {day!r} must be a calendar date")
    try:
        canonical_check(symbol)
    except SymbolError as error:
        raise LakePathError("symbol", str(error)) from None
    path = Path(lake) / table / f"date={day.isoformat()}" / f"symbol={symbol}"
    return _inside(Path(lake), path, field="symbol", value=symbol)


def partition_file(*, lake: Path, table: str, day: date, symbol: str, name: str) -> Path:
    """A file of a partition (`partition_dir`), its name checked to be one plain file name."""
    directory = partition_dir(lake=lake, table=table, day=day, symbol=symbol)
    if not _FILE_NAME.match(name):
        raise LakePathError("file", f"file name {name!r} is not a plain .parquet name")
    return _inside(Path(lake), directory / name, field="file", value=name)


def staging_dir(*, lake: Path, run: str, partition: Path) -> Path:
    """Compaction's working directory for `partition` (a `partition_dir`), under `{LAKE}/.staging/`,
    outside every table's files."""
    if not re.fullmatch(r"[0-9a-f]{32}", run):
        raise LakePathError("run", f"staging run {run!r} must be a uuid4 hex")
    return _inside(Path(lake), Path(lake) / STAGING / run / partition.name, field="partition", value=partition.name)


def lock_file(*, lake: Path, name: str) -> Path:
    """A lock file under `{LAKE}/.locks/`, outside every table's files."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise LakePathError("lock", f"lock name {name!r} must be lower-case letters, digits, '_' or '-'")
    return _inside(Path(lake), Path(lake) / ".locks" / f"{name}.lock", field="lock", value=name)


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
