"""Importers: external tick and depth files (CSV or Parquet) into the lake's layout.

A file is validated completely before anything becomes visible: its partitions are written as
temporary files and renamed only when every row passed, so a bad file leaves the lake as it
was. The error names the file, the row (the line, for CSV) and the column.

Identity, per source kind, as `stream_id = import:<hex digest>:<n>` (apps/core/positions.py):
- a trade is its content, (symbol, ts_event ns, price, size, side, seq) hashed, and n counts
  identical trades within one file; so the same trades from a CSV, an epoch-ns or an epoch-ms
  file get the same ids, and rows whose id a partition already holds are not written again;
- a depth operation is its place in its file (the file's content hash, n = the row): within a
  nanosecond a book's operations mean something only in their order, so identical operations
  are not merged; importing the same file again adds nothing.
"""

from __future__ import annotations

import csv
import fcntl
import functools
import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from apps.core.exceptions import ApplicationError, BadInputError
from apps.marketdata.events import FEED_CODES
from apps.marketdata.symbols import SymbolError, canonical, canonical_check
from apps.storage.lake import LakePathError, lock_file, partition_dir
from apps.storage.lake_write import LakeWrite
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
    # The canonical symbols the rows were stored under (a continuous alias becomes contracts).
    symbols: list[str] = field(default_factory=list)
    # Rows the lake did not hold yet; the rest were there already (the same identity).
    new: int = 0

    @property
    def already(self) -> int:
        return self.rows - self.new


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


def _feed(feed: str) -> str:
    if not feed or feed not in FEED_CODES:
        known = ", ".join(name for name in FEED_CODES if name)
        raise BadInputError("feed", f"--feed {feed!r} is not a known feed; known: {known}")
    return feed


# Only whether a symbol is valid is asked at this moment; rows resolve at their own time.
_CHECKED_AT = datetime(2000, 1, 3, tzinfo=UTC)
_NS_PER_MINUTE = 60_000_000_000


@functools.lru_cache(maxsize=4096)
def _canonical_in_minute(raw: str, minute: int) -> str:
    # Rolls happen on a whole minute (18:00 New York), so one answer serves a whole minute.
    return canonical_check(canonical(raw, at=datetime.fromtimestamp(minute * 60, tz=UTC)))


def _canonical_at(raw: str, ts_event: int) -> str:
    """The canonical symbol of `raw` at a row's exchange time: a continuous alias (`ES`) becomes
    the contract in force then by the roll schedule, a feed form (`/ESZ25`) its contract code."""
    return _canonical_in_minute(raw, ts_event // _NS_PER_MINUTE)


def _symbol_option(symbol: str | None) -> str | None:
    """The --symbol option, checked before any file is read (resolved per row later)."""
    if symbol is None:
        return None
    raw = symbol.strip().upper()
    try:
        canonical_check(canonical(raw, at=_CHECKED_AT))
    except SymbolError as error:
        raise BadInputError("symbol", f"--symbol {symbol!r}: {error}") from None
    return raw


def _row_symbol(path: Path, line: int, row: dict[str, Any], default: str | None, ts_event: int) -> str:
    raw = row.get("symbol")
    if raw in (None, ""):
        if default is None:
            raise ImportFileError(path, line, "symbol", "missing (add the column or pass --symbol)")
        return _canonical_at(default, ts_event)
    try:
        return _canonical_at(str(raw).strip().upper(), ts_event)
    except SymbolError as error:
        raise ImportFileError(path, line, "symbol", f"{raw!r}: {error}") from None


def _side(value: Any) -> int:
    return SIDES[str(value).strip().lower()]


# A row's identity from its content: (symbol, row) -> hex digest. None: the file's digest and
# the row's place in it.
Identity = Callable[[str, dict[str, Any]], str]


def _trade_identity(symbol: str, record: dict[str, Any]) -> str:
    """A trade is the same trade whatever file brought it: its symbol, exchange time (ns), price,
    size, side and sequence number. CSV, epoch-ns and epoch-ms files of one trade agree."""
    text = f"{symbol}|{record['ts_event']}|{float(record['price'])!r}|{record['size']}|{record['side']}|{record['seq']}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stored_ids(directory: Path) -> set[str]:
    """The imported rows' ids already in a partition."""
    ids: set[str] = set()
    for file in sorted(directory.glob("*.parquet")) if directory.is_dir() else []:
        column = pq.read_table(file, columns=["stream_id"])["stream_id"].to_pylist()
        ids.update(value for value in column if value and value.startswith("import:"))
    return ids


@contextmanager
def _import_lock(lake: Path, table: str) -> Iterator[None]:
    # Two imports of overlapping rows at once would each find the other's rows missing.
    lock = lock_file(lake=lake, name=f"import-{table}")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _import(
    path: Path,
    *,
    lake: Path,
    table: str,
    default_symbol: str | None,
    feed: str,
    row_builder: Callable[..., dict[str, Any]],
    identity: Identity | None,
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    feed = _feed(feed)
    default_symbol = _symbol_option(default_symbol)
    rows, first_line = _read(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    by_partition: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    occurrences: Counter[str] = Counter()
    for index, row in enumerate(rows):
        line = first_line + index
        record = row_builder(path, line, row)
        symbol = _row_symbol(path, line, row, default_symbol, record["ts_event"])
        if identity is None:
            stream_id = f"import:{digest}:{index}"
        else:
            # Identical rows in one source are distinct trades: the n-th of them is row n.
            key = identity(symbol, record)
            stream_id = f"import:{key}:{occurrences[key]}"
            occurrences[key] += 1
        record.update(feed=feed, stream_id=stream_id)
        day = datetime.fromtimestamp(record["ts_event"] / 1e9, tz=UTC).date().isoformat()
        by_partition[(day, symbol)].append(record)
        if progress and index % 10_000 == 0:
            progress(index, len(rows))
    if not rows:
        raise ImportFileError(path, None, None, "has no rows")
    new = 0
    # The lake's public write path: every partition's file is a temporary until all of them are
    # written; an error on any leaves the lake as it was.
    with _import_lock(lake, table), LakeWrite(lake=lake) as write:
        for (day, symbol), records in sorted(by_partition.items()):
            try:
                directory = partition_dir(lake=lake, table=table, day=date.fromisoformat(day), symbol=symbol)
            except LakePathError as error:
                raise ImportFileError(path, None, error.field, error.message) from None
            stored = _stored_ids(directory)
            fresh = [record for record in records if record["stream_id"] not in stored]
            if not fresh:
                continue
            new += len(fresh)
            # Named after the rows it holds: the same new rows again make the same name.
            name = hashlib.sha256("\n".join(record["stream_id"] for record in fresh).encode()).hexdigest()[:16]
            schema = lake_table(table).schema
            write.append(
                table=table,
                day=date.fromisoformat(day),
                symbol=symbol,
                name=f"import-{name}.parquet",
                rows=pa.Table.from_pylist(fresh, schema=schema),
            )
    if progress:
        progress(len(rows), len(rows))
    symbols = sorted({symbol for _, symbol in by_partition})
    return ImportResult(len(rows), list(write.published), symbols, new=new)


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
        path,
        lake=lake,
        table="tick_data",
        default_symbol=symbol,
        feed=feed,
        row_builder=_tick_row,
        identity=_trade_identity,
        progress=progress,
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
        path,
        lake=lake,
        table="depth_data",
        default_symbol=symbol,
        feed=feed,
        row_builder=_depth_row,
        identity=None,
        progress=progress,
    )
