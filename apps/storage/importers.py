"""Importers: external tick and depth files (CSV or Parquet) into the lake's layout.

A file is validated completely before anything becomes visible: its partitions are written as
temporary files and renamed only when every row passed, so a bad file leaves the lake as it
was. The error names the file, the row (the line, for CSV) and the column. File names derive
from the source's content hash, so importing the same file twice replaces, never duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from apps.core.exceptions import ApplicationError
from apps.storage.lake import partition_dir, publish, write_temp
from apps.storage.registry import lake_table

SIDES = {"b": 1, "buy": 1, "bid": 1, "1": 1, "s": 2, "sell": 2, "a": 2, "ask": 2, "2": 2, "": 0, "0": 0}
OPS = {"set": 1, "": 1, "clear": 0}


class ImportFileError(ApplicationError):
    def __init__(self, path: Path, row: int | None, column: str | None, problem: str) -> None:
        where = ", ".join(
            part for part in (f"row {row}" if row else "", f"column {column!r}" if column else "") if part
        )
        super().__init__(
            f"{path}: {where + ': ' if where else ''}{problem}", extra={"file": str(path), "row": row, "column": column}
        )


@dataclass
class ImportResult:
    rows: int
    files: list[str]


def _read(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Rows as dicts and the number of the first data row (CSV: line 2, after the header)."""
    if not path.is_file():
        raise ImportFileError(path, None, None, "no such file")
    if path.suffix.lower() == ".parquet":
        try:
            return pq.read_table(path).to_pylist(), 1
        except (pa.ArrowInvalid, OSError) as error:
            raise ImportFileError(path, None, None, f"not a readable Parquet file: {error}") from None
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle)), 2
    except (UnicodeDecodeError, csv.Error) as error:
        raise ImportFileError(path, None, None, f"not a readable CSV file: {error}") from None


# Nanoseconds since the epoch are stored as int64: 1677-09-21 to 2262-04-11.
_NS_MIN, _NS_MAX = -(2**63), 2**63 - 1


def _timestamp(value: Any) -> int:
    try:
        ns = _epoch_ns(value)
    except OverflowError:
        ns = _NS_MAX + 1
    if not _NS_MIN <= ns <= _NS_MAX:
        raise ValueError("is out of range: a time must lie between 1677-09-21 and 2262-04-11")
    return ns


def _epoch_ns(value: Any) -> int:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1_000_000) * 1000
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        number = int(text)
        # Epoch in seconds, milliseconds, microseconds or nanoseconds, by magnitude.
        for digits, factor in ((11, 1_000_000_000), (14, 1_000_000), (17, 1_000)):
            if abs(number) < 10**digits:
                return number * factor
        return number
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("has no time zone (add Z or +00:00)")
    return int(moment.timestamp() * 1_000_000) * 1000


def _number(value: Any, *, positive: bool, integer: bool) -> float | int:
    number = float(value) if not isinstance(value, (int, float)) else value
    if not math.isfinite(number) or (positive and number <= 0) or (not positive and number < 0):
        raise ValueError("must be a positive number" if positive else "must not be negative")
    if integer:
        if number != int(number):
            raise ValueError("must be a whole number")
        return int(number)
    return float(number)


def _convert(path: Path, line: int, row: dict[str, Any], column: str, parse: Callable[[Any], Any]) -> Any:
    if column not in row or row[column] is None:
        raise ImportFileError(path, line, column, "missing")
    try:
        return parse(row[column])
    except (ValueError, TypeError, KeyError) as error:
        raise ImportFileError(path, line, column, f"{row[column]!r} {error}".strip()) from None


def _side(value: Any) -> int:
    return SIDES[str(value).strip().lower()]


def _import(
    path: Path,
    *,
    lake: Path,
    table: str,
    default_symbol: str | None,
    feed: str,
    row_builder: Callable[..., dict[str, Any]],
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    rows, first_line = _read(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    by_partition: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for index, row in enumerate(rows):
        line = first_line + index
        symbol = str(row.get("symbol") or default_symbol or "").strip().upper()
        if not symbol:
            raise ImportFileError(path, line, "symbol", "missing (add the column or pass --symbol)")
        record = row_builder(path, line, row)
        record.update(feed=feed, stream_id=f"import:{digest}:{index}")
        day = datetime.fromtimestamp(record["ts_event"] / 1e9, tz=UTC).date().isoformat()
        by_partition[(day, symbol)].append(record)
        if progress and index % 10_000 == 0:
            progress(index, len(rows))
    if not rows:
        raise ImportFileError(path, None, None, "has no rows")
    temps: list[tuple[Path, Path]] = []
    try:
        for (day, symbol), records in sorted(by_partition.items()):
            final = (
                partition_dir(lake=lake, table=table, day=datetime.fromisoformat(day).date(), symbol=symbol)
                / f"import-{digest}.parquet"
            )
            temps.append((write_temp(pa.Table.from_pylist(records, schema=lake_table(table).schema), final), final))
    except BaseException:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)
        raise
    # Every partition is written; only now does any of it become visible.
    for temp, final in temps:
        publish(temp, final)
    if progress:
        progress(len(rows), len(rows))
    return ImportResult(len(rows), [str(final.relative_to(lake)) for _, final in temps])


def _tick_row(path: Path, line: int, row: dict[str, Any]) -> dict[str, Any]:
    ts = _convert(path, line, row, "ts", _timestamp)
    return {
        "ts_event": ts,
        "ts_recv": ts,
        "price": _convert(path, line, row, "price", lambda v: _number(v, positive=True, integer=False)),
        "size": _convert(path, line, row, "size", lambda v: _number(v, positive=True, integer=True)),
        "side": _convert(path, line, row, "side", _side) if row.get("side") not in (None, "") else 0,
        "seq": _convert(path, line, row, "seq", int) if row.get("seq") not in (None, "") else 0,
    }


def _depth_row(path: Path, line: int, row: dict[str, Any]) -> dict[str, Any]:
    op = (
        _convert(path, line, row, "op", lambda v: OPS[str(v).strip().lower()]) if row.get("op") not in (None, "") else 1
    )
    return {
        "ts_event": _convert(path, line, row, "ts", _timestamp),
        "op": op,
        "side": _convert(path, line, row, "side", _side) if op else 0,
        "price": _convert(path, line, row, "price", lambda v: _number(v, positive=True, integer=False)) if op else 0.0,
        "size": _convert(path, line, row, "size", lambda v: _number(v, positive=False, integer=True)) if op else 0,
    }


def ticks_import(
    *,
    path: Path,
    lake: Path,
    symbol: str | None = None,
    feed: str = "import",
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Trades from CSV/Parquet (columns ts, price, size; optional symbol, side, seq) into tick_data."""
    return _import(
        path, lake=lake, table="tick_data", default_symbol=symbol, feed=feed, row_builder=_tick_row, progress=progress
    )


def depth_import(
    *,
    path: Path,
    lake: Path,
    symbol: str | None = None,
    feed: str = "import",
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Depth from CSV/Parquet (columns ts, side, price, size; optional symbol, op = set|clear) into depth_data."""
    return _import(
        path, lake=lake, table="depth_data", default_symbol=symbol, feed=feed, row_builder=_depth_row, progress=progress
    )
