"""Compaction: merge the small files of a closed partition (a day before today, UTC) into
files of a sensible size, without a moment where a query sees rows twice or misses rows.

The merged files are written into a staging directory outside the tables' globs, then the
staging directory and the partition directory swap places in one atomic step (Linux
renameat2 RENAME_EXCHANGE). A query that listed the old files and finds them gone is retried
by the query layer and reads the new ones. A file a late flush added to the partition after it
was read is moved back into the swapped-in partition, so nothing is dropped.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from apps.core.clock import utc_now
from apps.storage.lake import LakePathError, partition_dir, partition_file, publish, staging_dir, write_temp
from apps.storage.minute_bars import minute_bars_rebuild
from apps.storage.registry import lake_tables

log = structlog.get_logger(__name__)

ROWS_PER_FILE = 5_000_000
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass
class CompactResult:
    partition: str
    files_before: int = 0
    files_after: int = 0
    rows: int = 0
    moved_back: list[str] = field(default_factory=list)
    skipped: str | None = None


def _exchange(first: Path, second: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"atomic exchange of {first} and {second} failed: {os.strerror(error)}")


def partition_compact(*, lake: Path, partition: Path, rows_per_file: int = ROWS_PER_FILE) -> CompactResult:
    """Merge one partition's files; skipped when it has fewer than two."""
    result = CompactResult(partition=str(partition.relative_to(lake)))
    try:
        # Rebuilt from its parts by the one path builder: a directory it would not make (an old
        # import's `symbol=HELLO WORLD`, a symlink out of the lake) is left alone.
        table, day, symbol = _partition_parts(partition)
        partition = partition_dir(lake=lake, table=table, day=day, symbol=symbol)
    except LakePathError as error:
        result.skipped = f"not a lake partition: {error.message}"
        log.warning("compaction.skipped", partition=result.partition, reason=result.skipped)
        return result
    files = sorted(partition.glob("*.parquet"))
    result.files_before = len(files)
    if len(files) < 2:
        result.skipped = "fewer than two files"
        return result
    merged_rows = pa.concat_tables([pq.read_table(path) for path in files], promote_options="default")
    order = [("ts_event", "ascending"), ("stream_id", "ascending")]
    if "seq" in merged_rows.column_names:  # imported trades store one stream_id prefix (tables.py)
        order.append(("seq", "ascending"))
    merged_rows = merged_rows.sort_by(order)
    result.rows = merged_rows.num_rows
    _swap_in(lake=lake, partition=partition, files=files, rows=merged_rows, prefix="compacted",
             rows_per_file=rows_per_file, result=result)  # fmt: skip
    log.info(
        "compaction.done",
        partition=result.partition,
        before=result.files_before,
        after=result.files_after,
        rows=result.rows,
    )
    return result


def _swap_in(
    *, lake: Path, partition: Path, files: list[Path], rows: pa.Table, prefix: str, rows_per_file: int,
    result: CompactResult,
) -> None:  # fmt: skip
    """Replace `files` of `partition` by `rows`, in one atomic directory exchange: the new files
    are staged outside the tables' globs, the staging directory and the partition swap places,
    and files that arrived meanwhile are moved back."""
    table, day, symbol = _partition_parts(partition)
    staging = staging_dir(lake=lake, run=uuid.uuid4().hex, partition=partition)
    staging.mkdir(parents=True)
    first, last = files[0].stem.split("_")[0], files[-1].stem.split("_")[-1]
    for offset in range(0, rows.num_rows, rows_per_file):
        name = f"{prefix}-{first}_{last}-{offset // rows_per_file:03d}.parquet"
        # The name is checked where the partition's files will be; the file is made in staging.
        final = staging / partition_file(lake=lake, table=table, day=day, symbol=symbol, name=name).name
        publish(write_temp(rows.slice(offset, rows_per_file), final), final)
        result.files_after += 1
    _exchange(staging, partition)
    # `staging` now holds the old files: anything there that was not merged arrived meanwhile.
    merged = {path.name for path in files}
    for path in sorted(staging.glob("*.parquet")):
        if path.name not in merged:
            publish(path, partition / path.name)
            result.moved_back.append(path.name)
    shutil.rmtree(staging.parent, ignore_errors=True)


def partition_rewrite(
    *, lake: Path, partition: Path, transform: Callable[[pa.Table], pa.Table], prefix: str,
    rows_per_file: int = ROWS_PER_FILE,
) -> CompactResult:  # fmt: skip
    """Rewrite a partition's rows through `transform` (a lake migration) with compaction's atomic
    swap; skipped when `transform` changes nothing (a partition migrated already)."""
    result = CompactResult(partition=str(partition.relative_to(lake)))
    try:
        table, day, symbol = _partition_parts(partition)
        partition = partition_dir(lake=lake, table=table, day=day, symbol=symbol)
    except LakePathError as error:
        result.skipped = f"not a lake partition: {error.message}"
        return result
    files = sorted(partition.glob("*.parquet"))
    result.files_before = len(files)
    if not files:
        result.skipped = "no files"
        return result
    rows = pa.concat_tables([pq.read_table(path) for path in files], promote_options="default")
    changed = transform(rows)
    result.rows = changed.num_rows
    if changed.equals(rows):
        result.skipped = "already migrated"
        return result
    _swap_in(lake=lake, partition=partition, files=files, rows=changed, prefix=prefix,
             rows_per_file=rows_per_file, result=result)  # fmt: skip
    log.info("lake_migration.partition_rewritten", partition=result.partition, rows=result.rows)
    return result


def _partition_parts(partition: Path) -> tuple[str, date, str]:
    """(table, day, symbol) of `{LAKE}/{table}/date=.../symbol=...`."""
    day = _partition_day(partition)
    if day is None or not partition.name.startswith("symbol="):
        raise LakePathError("partition", f"partition {str(partition)!r} is not date=YYYY-MM-DD/symbol=SYM")
    return partition.parent.parent.name, day, partition.name.removeprefix("symbol=")


def _partition_day(partition: Path) -> date | None:
    name = partition.parent.name
    try:
        return date.fromisoformat(name.removeprefix("date=")) if name.startswith("date=") else None
    except ValueError:
        return None


def lake_compact(
    *, lake: Path, today: date | None = None, progress: Callable[[int, int], None] | None = None
) -> list[CompactResult]:
    """Compact every closed partition (before today, UTC) of every table that has small files;
    `progress(done, total)` after each partition."""
    today = today or utc_now().date()
    partitions = [
        partition
        for table in lake_tables()
        for partition in sorted((lake / table.name).glob("date=*/symbol=*"))
        if partition.is_dir() and (day := _partition_day(partition)) is not None and day < today
    ]
    results = []
    for done, partition in enumerate(partitions, start=1):
        results.append(partition_compact(lake=lake, partition=partition))
        if progress:
            progress(done, len(partitions))
    # The closed days' trades are final now: keep their one-minute bars in step with them.
    minute_bars_rebuild(lake=lake, before=today)
    return results
