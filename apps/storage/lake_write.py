"""The public write path of importers and batch jobs: files of several partitions written as
hidden temporaries in chunks (never a whole import in memory), published together only when the
writer closes cleanly. On any error every temporary is removed: a bad file leaves the lake as it
was, and no partial partition is ever visible.

    with LakeWrite(lake=lake) as write:
        write.append(table="tick_data", day=day, symbol="ESZ25", name="sierra-...parquet", rows=rows)

A file's name is the caller's idempotency: the same rows under the same name again replace an
identical file (atomic rename), so a retried unit neither loses nor doubles rows.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import date
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from apps.storage.lake import partition_file, publish, temp_path
from apps.storage.lake_migrations import lake_version_check
from apps.storage.registry import lake_table
from apps.storage.tables import row_stream_ids


def write_options(schema: pa.Schema) -> dict[str, object]:
    """Parquet options for bulk writes (`schema` as the rows come: a string column may come
    dictionary-encoded, e.g. one value for every row): LZ4, the fastest codec (a bulk import is
    bound by the encoding; compaction later rewrites partitions); integers and times
    delta-encoded; a per-row `stream_id` (unique, with a long common prefix) delta-encoded without
    a dictionary; statistics (min/max, what DuckDB skips row groups by) only for `ts_event` and
    `seq`, the columns queries filter on; dictionary columns written as they are, with the Arrow schema left
    out of the file so that readers see plain strings, as in every other file."""
    per_row_ids = "stream_id" in schema.names and pa.types.is_string(schema.field("stream_id").type)
    encoding = {"stream_id": "DELTA_BYTE_ARRAY"} if per_row_ids else {}
    for field in schema:
        if pa.types.is_int64(field.type) or pa.types.is_timestamp(field.type):
            encoding[field.name] = "DELTA_BINARY_PACKED"
    dictionary = [
        field.name
        for field in schema
        if (pa.types.is_string(field.type) or pa.types.is_dictionary(field.type)) and field.name not in encoding
    ]
    return {
        "compression": "lz4",
        "use_dictionary": dictionary or False,
        "write_statistics": [name for name in ("ts_event", "seq") if name in schema.names],
        "column_encoding": encoding,
        "store_schema": not any(pa.types.is_dictionary(field.type) for field in schema),
    }


def file_schema(schema: pa.Schema, rows: pa.Table) -> pa.Schema:
    """`schema`, with the string columns that `rows` hold dictionary-encoded kept so: they are
    written without expanding them to a string per row (Parquet stores strings either way)."""
    fields = []
    for field in schema:
        index = rows.schema.get_field_index(field.name)
        given = rows.schema.field(index).type if index >= 0 else None
        keep = (
            given is not None
            and pa.types.is_string(field.type)
            and pa.types.is_dictionary(given)
            and pa.types.is_string(given.value_type)
        )
        fields.append(field.with_type(given) if keep else field)
    return pa.schema(fields)


class LakeWrite:
    def __init__(self, *, lake: Path) -> None:
        """LakeVersionError when the lake is newer than this code: its files would be written
        in an older shape."""
        self.lake = Path(lake)
        lake_version_check(self.lake)
        self._writers: dict[Path, tuple[Path, pq.ParquetWriter, pa.Schema]] = {}
        self.rows: dict[str, int] = {}
        self.published: list[str] = []

    def append(self, *, table: str, day: date, symbol: str, name: str, rows: pa.Table) -> None:
        """Add rows (in `table`'s schema) to the file `name` of a partition, validated by the
        lake's path builder (LakePathError naming a bad table, day, symbol or name)."""
        if not rows.num_rows:
            return
        final = partition_file(lake=self.lake, table=table, day=day, symbol=symbol, name=name)
        entry = self._writers.get(final)
        if entry is None:
            final.parent.mkdir(parents=True, exist_ok=True)
            _remove_dead_temps(final)
            temp = temp_path(final)
            schema = file_schema(lake_table(table).schema, rows)
            entry = (temp, pq.ParquetWriter(temp, schema, **write_options(schema)), schema)
            self._writers[final] = entry
        temp, writer, schema = entry
        writer.write_table(rows if rows.schema.equals(schema) else rows.cast(schema))
        key = str(final.relative_to(self.lake))
        self.rows[key] = self.rows.get(key, 0) + rows.num_rows

    def commit(self) -> list[str]:
        """Close, fsync and publish every file; the lake-relative paths published."""
        for temp, writer, _ in self._writers.values():
            writer.close()
            fd = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for final, (temp, _, _) in sorted(self._writers.items()):
            publish(temp, final)
            self.published.append(str(final.relative_to(self.lake)))
        self._writers.clear()
        return self.published

    def abort(self) -> None:
        for temp, writer, _ in self._writers.values():
            try:
                writer.close()
            finally:
                temp.unlink(missing_ok=True)
        self._writers.clear()

    def __enter__(self) -> LakeWrite:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def _remove_dead_temps(final: Path) -> None:
    """Temporaries of `final` left by a writer process that is gone (a killed worker): they were
    never visible and never will be; a live process's are left alone."""
    for temp in final.parent.glob(f".{final.name}.tmp-*"):
        pid = temp.name.rpartition("-")[2]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            temp.unlink(missing_ok=True)
        except PermissionError:
            continue  # a live process of another user


def stored_ids_with_prefix(directory: Path, *, prefix: str, besides: Collection[str]) -> set[str]:
    """The `stream_id`s (whole: tables.py) starting with `prefix` in a partition's files other than
    `besides` (the files a writer is about to replace): rows an earlier import put in other files
    (compaction merges files), which a rerun must not write again."""
    ids: set[str] = set()
    if not directory.is_dir():
        return ids
    for file in sorted(directory.glob("*.parquet")):
        if file.name in besides:
            continue
        names = pq.read_schema(file).names
        column = row_stream_ids(pq.read_table(file, columns=[name for name in ("stream_id", "seq") if name in names]))
        hits = column.filter(pc.starts_with(column, prefix))
        ids.update(hits.to_pylist())
    return ids
