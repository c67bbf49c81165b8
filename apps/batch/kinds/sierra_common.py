"""What the SCID and depth import kinds share: parameters, a file's identity and checkpoint,
the symbol of every row, and the lake writes of one unit."""

from __future__ import annotations

import functools
import hashlib
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from apps.batch.jobs import Plan, UnitPlan
from apps.batch.models import SourceCheckpoint
from apps.batch.report import JobReport
from apps.batch.sierra_files import CHUNK_RECORDS, FileLayout, RecordMap, SierraFileError, bad_times, unix_us
from apps.batch.sierra_names import file_stem, sierra_symbol
from apps.core.exceptions import BadInputError
from apps.marketdata.symbols import ROOTS, SymbolError, canonical
from apps.storage.lake import partition_dir
from apps.storage.lake_write import LakeWrite, stored_ids_with_prefix
from apps.storage.tables import row_stream_ids, timestamps

US_PER_DAY = 86_400_000_000
_US_PER_MINUTE = 60_000_000
KNOWN_PARAMS = {"file", "symbol", "from", "to", "price_multiplier", "full"}


def _day_param(name: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise BadInputError(name, f"--param {name}={value!r} is not a date (YYYY-MM-DD)") from None


def parse_file_params(*, params: dict[str, str], suffix: str) -> dict[str, Any]:
    """file=PATH[,PATH...] (required), symbol=ES|ESZ25, from=/to=YYYY-MM-DD, price_multiplier=F,
    full=1 (import every record again, ignoring the checkpoint)."""
    unknown = sorted(set(params) - KNOWN_PARAMS)
    if unknown:
        raise BadInputError(unknown[0], f"unknown parameter {unknown[0]!r}; known: {', '.join(sorted(KNOWN_PARAMS))}")
    files = [part.strip() for part in params.get("file", "").split(",") if part.strip()]
    if not files:
        raise BadInputError("file", f"--param file=PATH is required (a {suffix} file; several: file=A,B)")
    resolved = []
    for name in files:
        path = Path(name).expanduser().resolve()
        if not path.is_file():
            raise BadInputError("file", f"{path}: no such file")
        resolved.append(str(path))
    symbol = params.get("symbol", "").strip().upper() or None
    if symbol is not None:
        try:
            canonical(symbol, at=datetime(2000, 1, 3, tzinfo=UTC))
        except SymbolError as error:
            raise BadInputError("symbol", f"--param symbol={symbol!r}: {error}") from None
    start, end = _day_param("from", params.get("from")), _day_param("to", params.get("to"))
    if start and end and end < start:
        raise BadInputError("to", f"the range {start}..{end} ends before it starts")
    try:
        multiplier = float(params.get("price_multiplier") or 1.0)
    except ValueError:
        raise BadInputError("price_multiplier", "--param price_multiplier must be a number") from None
    if not multiplier > 0:
        raise BadInputError("price_multiplier", "--param price_multiplier must be positive")
    return {
        "files": resolved,
        "symbol": symbol,
        "from": start,
        "to": end,
        "price_multiplier": multiplier,
        "full": params.get("full", "").strip().lower() in ("1", "true", "yes"),
    }


def source_id(layout: FileLayout, first_record: bytes) -> str:
    """A file's identity in row ids and file names: its name and its first record. The same file
    under another directory is the same source; another file of the same name is not."""
    digest = hashlib.sha256(layout.path.name.encode() + b"\0" + first_record)
    return digest.hexdigest()[:12]


def first_record_bytes(layout: FileLayout) -> bytes:
    with layout.path.open("rb") as handle:
        handle.seek(layout.header_size)
        return handle.read(layout.record_size if layout.records else 0)


def file_symbol(layout: FileLayout, *, override: str | None, first_us: int) -> str:
    """The contract (or continuous root) of a file: the `symbol` parameter, else its name."""
    if override:
        return override
    stem, _ = file_stem(layout.path)
    try:
        return sierra_symbol(stem, reference=datetime.fromtimestamp(first_us / 1e6, tz=UTC))
    except SymbolError as error:
        raise SierraFileError(layout.path, f"{error}; pass --symbol") from None


def checkpoint_key(kind: str, layout: FileLayout) -> str:
    return f"{kind}:{layout.path}"[:200]


def checkpoint_start(kind: str, layout: FileLayout, raw_times: np.ndarray) -> int:
    """The first record not imported yet, by the file's checkpoint (record index and the raw time
    of the last record imported). SierraFileError when the file shrank or was rewritten since."""
    saved = SourceCheckpoint.objects.filter(key=checkpoint_key(kind, layout)).first()
    if saved is None or saved.records == 0:
        return 0
    if saved.records > layout.records:
        raise SierraFileError(
            layout.path,
            f"the file holds {layout.records} records, fewer than the {saved.records} imported before: it was "
            "replaced or truncated; import it again with --param full=1",
            record=layout.records,
        )
    if int(raw_times[saved.records - 1]) != saved.last_raw_time:
        raise SierraFileError(
            layout.path,
            "the record last imported has another time now: the file was rewritten; "
            "import it again with --param full=1",
            offset=layout.offset_of(saved.records - 1),
            record=saved.records - 1,
        )
    return saved.records


def checkpoint_advance(kind: str, *, path: str, records: int, last_raw_time: int) -> None:
    key = f"{kind}:{path}"[:200]
    saved, _ = SourceCheckpoint.objects.get_or_create(key=key, defaults={"path": path})
    if records > saved.records:
        saved.records, saved.last_raw_time = records, last_raw_time
        saved.save(update_fields=["records", "last_raw_time", "updated_at"])


@dataclass(frozen=True)
class DayRun:
    day: str
    start: int
    stop: int


def day_runs(unix_times: Callable[[int, int], np.ndarray], *, start: int, stop: int, chunk: int) -> list[DayRun]:
    """Contiguous runs of records on one UTC day over [start, stop): a unit each."""
    runs: list[DayRun] = []
    for first in range(start, stop, chunk):
        last = min(stop, first + chunk)
        days = unix_times(first, last) // US_PER_DAY
        cuts = np.flatnonzero(np.diff(days)) + 1
        bounds = [0, *cuts.tolist(), len(days)]
        for a, b in itertools.pairwise(bounds):
            day = datetime.fromtimestamp(int(days[a]) * 86_400, tz=UTC).date().isoformat()
            if runs and runs[-1].day == day and runs[-1].stop == first + a:
                runs[-1] = DayRun(day, runs[-1].start, first + b)
            else:
                runs.append(DayRun(day, first + a, first + b))
    return runs


@functools.lru_cache(maxsize=65536)
def _contract_in_minute(root: str, minute: int) -> str:
    return canonical(root, at=datetime.fromtimestamp(minute * 60, tz=UTC))


def row_symbols(symbol: str, unix_us: np.ndarray) -> tuple[list[str], np.ndarray | None]:
    """The contracts of rows: a contract for all, or (continuous root) each row's by the roll
    schedule. (symbols, index of each row's symbol, or None when there is one)."""
    if symbol not in ROOTS or not len(unix_us):
        return [symbol], None
    minutes = unix_us // _US_PER_MINUTE
    unique, inverse = np.unique(minutes, return_inverse=True)
    contracts = [_contract_in_minute(symbol, int(minute)) for minute in unique]
    names = sorted(set(contracts))
    if len(names) == 1:
        return names, None
    of_minute = np.array([names.index(contract) for contract in contracts])
    return names, of_minute[inverse]


def constant_strings(value: str, count: int) -> pa.DictionaryArray:
    """`value` `count` times, as one dictionary entry (no string per row)."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(count, dtype=np.int32)), pa.array([value]))


def stream_ids(source: str, first: int, count: int, mask: np.ndarray | None = None) -> pa.Array:
    indexes = np.arange(first, first + count, dtype=np.int64)
    if mask is not None:
        indexes = indexes[mask]
    return pc.binary_join_element_wise(pa.scalar(f"sierra:{source}:"), pa.array(indexes).cast(pa.string()), "")


class UnitWriter:
    """One unit's rows into the lake under deterministic names per partition (`parts` files, one
    per writing thread: `sierra-{source}-{start}.parquet`, then `...-{part}.parquet`), skipping
    rows of this source that other files of a partition already hold (a compaction merged them).
    Threads may append at once, each to its own part."""

    def __init__(self, *, source: str, start: int, write: LakeWrite, parts: int = 1) -> None:
        self.source, self.write = source, write
        stem = f"sierra-{source}-{start:012d}"
        self.names = [f"{stem}.parquet", *(f"{stem}-{part}.parquet" for part in range(1, parts))]
        self._stored: dict[tuple[str, str, str], set[str]] = {}
        self._lock = threading.Lock()
        self.skipped = 0

    def append(self, *, table: str, day: date, symbol: str, rows: pa.Table, part: int = 0) -> None:
        key = (table, day.isoformat(), symbol)
        with self._lock:
            if key not in self._stored:
                directory = partition_dir(lake=self.write.lake, table=table, day=day, symbol=symbol)
                prefix = f"sierra:{self.source}:"
                self._stored[key] = stored_ids_with_prefix(directory, prefix=prefix, besides=set(self.names))
            stored = self._stored[key]
        if stored:
            ids = row_stream_ids(rows)
            keep = pc.invert(pc.is_in(ids, value_set=pa.array(sorted(stored), type=pa.string())))
            before = rows.num_rows
            rows = rows.filter(keep)
            with self._lock:
                self.skipped += before - rows.num_rows
        self.write.append(table=table, day=day, symbol=symbol, name=self.names[part], rows=rows)


def split_by_symbol(
    writer: UnitWriter,
    *,
    table: str,
    day: date,
    symbol: str,
    unix_us: np.ndarray,
    columns: dict[str, Any],
    part: int = 0,
) -> None:
    """Append rows (columns of equal length, `ts_event` included) under each row's contract."""
    names, which = row_symbols(symbol, unix_us)
    rows = pa.table(columns)
    if which is None:
        writer.append(table=table, day=day, symbol=names[0], rows=rows, part=part)
        return
    for number, name in enumerate(names):
        writer.append(table=table, day=day, symbol=name, rows=rows.filter(pa.array(which == number)), part=part)


def lake_dir() -> Path:
    return Path(settings.LAKE_DIR)


def ts_column(unix_us: np.ndarray) -> pa.Array:
    return timestamps(unix_us * 1000)


def in_range(day: str, params: dict[str, Any]) -> bool:
    return (not params.get("from") or day >= params["from"]) and (not params.get("to") or day <= params["to"])


def check_times(layout: FileLayout, first: int, raw: np.ndarray) -> None:
    """SierraFileError naming the first record (index and byte offset) whose time is impossible."""
    bad = bad_times(raw, legacy=layout.legacy_times)
    if len(bad):
        index = first + int(bad[0])
        raise SierraFileError(
            layout.path,
            f"record time {int(raw[bad[0]])} is not a time between 1970 and 2200",
            offset=layout.offset_of(index),
            record=index,
        )


def plan_files(*, kind: str, params: dict[str, Any], layout_of: Callable[[Path], FileLayout], dtype: np.dtype) -> Plan:
    """Units of the files of an import: one per run of records on one UTC day, from each file's
    checkpoint (or from its start with `full`, or a day range) to its last whole record."""
    report = JobReport()
    units: list[UnitPlan] = []
    for name in params["files"]:
        layout = layout_of(Path(name))
        if warning := layout.tail_warning():
            report.warn(warning)
        if not layout.records:
            report.warn(f"{layout.path}: holds no records")
            continue
        raw = RecordMap(layout, dtype).records["datetime"]
        check_times(layout, 0, raw[:1])
        first_us = int(unix_us(raw[:1], legacy=layout.legacy_times)[0])
        symbol = file_symbol(layout, override=params["symbol"], first_us=first_us)
        ranged = bool(params["from"] or params["to"])
        start = 0 if params["full"] or ranged else checkpoint_start(kind, layout, raw)
        if start == layout.records:
            report.warn(f"{layout.path}: nothing new since the last import ({layout.records} records)")
            continue
        source = source_id(layout, first_record_bytes(layout))

        def times(a: int, b: int, layout: FileLayout = layout, raw: np.ndarray = raw) -> np.ndarray:
            check_times(layout, a, raw[a:b])
            return unix_us(raw[a:b], legacy=layout.legacy_times)

        runs = day_runs(times, start=start, stop=layout.records, chunk=CHUNK_RECORDS)
        chosen = [run for run in runs if in_range(run.day, params)]
        if not chosen:
            report.warn(f"{layout.path}: no records from {params['from'] or '-'} to {params['to'] or '-'}")
            continue
        end = {"file_end": layout.records, "file_end_raw": int(raw[layout.records - 1]), "ranged": ranged}
        common = {"file": str(layout.path), "source": source, "symbol": symbol, **end}
        units.extend(
            UnitPlan(
                label=f"{layout.path.name} {run.day} records {run.start}..{run.stop - 1}",
                params={**common, "day": run.day, "start": run.start, "stop": run.stop},
                weight=run.stop - run.start,
            )
            for run in chosen
        )
    if not units:
        report.warn("nothing to import")
    return Plan(units=units, report=report)


def unit_layout(layout: FileLayout, unit: dict[str, Any]) -> tuple[int, int]:
    """A unit's [start, stop), after checking the file still holds them and is the same file."""
    start, stop = int(unit["start"]), int(unit["stop"])
    if layout.records < stop:
        raise SierraFileError(
            layout.path, f"the file holds {layout.records} records now; the unit needs {stop}", record=stop - 1
        )
    if source_id(layout, first_record_bytes(layout)) != unit["source"]:
        raise SierraFileError(layout.path, "the file's first record changed since the job was planned", record=0)
    return start, stop


def finish_files(kind: str, units: list[dict[str, Any]]) -> None:
    """Advance each whole-file import's checkpoint to the records it planned."""
    for unit in units:
        if not unit.get("ranged"):
            checkpoint_advance(
                kind, path=unit["file"], records=int(unit["file_end"]), last_raw_time=int(unit["file_end_raw"])
            )
