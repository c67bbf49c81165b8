"""The Sierra Chart bridge: GEX snapshots as files that existing Sierra Chart studies read unchanged
(../shared/reference/gex_scid.md §4).

Per ticker, package and category, under one directory (`SIERRA_CHART_DIR`):

- `{TICKER}_{package}_{category}_levels.csv` — the levels now, in the SpotGamma study's form
  `price,label,#RRGGBB`, one level per line, no header. Rewritten whole for every snapshot through a
  temporary file and `os.replace`, so a reader sees the old file or the new one, never a mix.
  Lines end with LF, not CRLF: that study splits the text on "\\n" only and takes a colour only
  from a cell of exactly 7 characters, so a "\\r" left on the colour cell would turn every level grey.
  It stops at the first line shorter than 10 characters or with a price that is not positive, so
  prices carry two decimals and levels that are missing or not positive are left out.
- `Tickers MM.DD.YYYY/{TICKER}_{package}_{category}.csv` — the day's history, the layout and
  15-column header of the GEXBot terminal studies (DorelRoata/SierraChartsGexBot): set the study's
  CSV read path to the directory and its ticker to `{TICKER}_{package}_{category}`. The date is the
  snapshot's New York (exchange) date. ASCII, `.` decimals, no quotes, CRLF; `timestamp` is Unix
  seconds with one decimal. Append-only: each snapshot is one whole line written by a single
  `os.write` on an O_APPEND descriptor and kept inside one memory page (a line that would leave
  too little room on its page is padded with spaces before its CRLF; see `_page_aligned`), the
  header is in the file from the moment it exists (written to a temporary file, then hard-linked
  into place), and a snapshot whose timestamp is not newer than the last line's is skipped, so a
  restarted poller repeats nothing.

A value a snapshot lacks is an empty field, never 0: 0 is a real value (GEXBot's State package
reports zeros), and the studies read an empty field as 0 anyway. `net` is `sum_gex_vol`. GEXSnapshot
has no `major_long_gamma`/`major_short_gamma`, so those columns stay empty; for greek categories
(`gamma_zero`, ...) the parser keeps `major_positive`/`major_negative` in `major_pos_vol`/
`major_neg_vol`, and they are written to the `major_positive`/`major_negative` columns instead.
The levels file also has the call and put walls when the snapshot has them (computed sources);
the history file keeps the terminal studies' 15 columns.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import mmap
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import structlog

from apps.core.clock import to_exchange
from apps.gex.parsing import is_greek_category
from apps.gex.snapshots import GEXSnapshot

log = structlog.get_logger(__name__)

HISTORY_COLUMNS = (
    "timestamp",
    "spot",
    "zero_gamma",
    "major_pos_vol",
    "major_neg_vol",
    "major_pos_oi",
    "major_neg_oi",
    "sum_gex_vol",
    "sum_gex_oi",
    "delta_risk_reversal",
    "major_long_gamma",
    "major_short_gamma",
    "major_positive",
    "major_negative",
    "net",
)
HISTORY_HEADER = ",".join(HISTORY_COLUMNS)
CRLF = "\r\n"
# A history line is well under this (15 numbers); reading this much of the file's end finds the last one.
MAX_LINE_BYTES = 512
_TAIL_BYTES = 4096
PAGE_BYTES = mmap.PAGESIZE

# (attribute of GEXSnapshot, label, colour), in the order the lines are written.
LEVELS: tuple[tuple[str, str, str], ...] = (
    ("spot", "Spot", "#FFFFFF"),
    ("zero_gamma", "Zero Gamma", "#FCB103"),
    ("major_pos_vol", "Major + Vol", "#00C000"),
    ("major_neg_vol", "Major - Vol", "#E00000"),
    ("major_pos_oi", "Major + OI", "#00FFFF"),
    ("major_neg_oi", "Major - OI", "#FFA500"),
    ("call_wall", "Call Wall", "#00A0FF"),
    ("put_wall", "Put Wall", "#FF00FF"),
)
GREEK_LEVEL_LABELS = {"major_pos_vol": "Major Positive", "major_neg_vol": "Major Negative"}


@dataclass(frozen=True)
class SierraWrite:
    levels: Path
    history: Path
    # False: the history already had this timestamp or a newer one; neither file was touched.
    appended: bool


def _stem(snapshot: GEXSnapshot) -> str:
    return f"{snapshot.ticker}_{snapshot.package}_{snapshot.category}"


def sierra_levels_path(*, snapshot: GEXSnapshot, directory: Path) -> Path:
    return directory / f"{_stem(snapshot)}_levels.csv"


def sierra_history_path(*, snapshot: GEXSnapshot, directory: Path) -> Path:
    day = to_exchange(datetime.fromtimestamp(snapshot.timestamp, tz=UTC)).date()
    return directory / f"Tickers {day:%m.%d.%Y}" / f"{_stem(snapshot)}.csv"


def _number(value: float | None) -> str:
    """Plain decimal notation, as short as round-trips (never `1e-05`); empty for None, NaN and inf."""
    if value is None or not math.isfinite(value):
        return ""
    return format(Decimal(repr(float(value))), "f")


def sierra_history_line(snapshot: GEXSnapshot) -> str:
    """One history row for `snapshot`, without its line ending (the file adds CRLF). Also the
    payload of the `/ws/sc` topic."""
    greek = is_greek_category(snapshot.category)
    values: dict[str, float | None] = {
        "spot": snapshot.spot,
        "zero_gamma": snapshot.zero_gamma,
        "major_pos_vol": None if greek else snapshot.major_pos_vol,
        "major_neg_vol": None if greek else snapshot.major_neg_vol,
        "major_pos_oi": snapshot.major_pos_oi,
        "major_neg_oi": snapshot.major_neg_oi,
        "sum_gex_vol": snapshot.sum_gex_vol,
        "sum_gex_oi": snapshot.sum_gex_oi,
        "delta_risk_reversal": snapshot.delta_risk_reversal,
        "major_long_gamma": None,
        "major_short_gamma": None,
        "major_positive": snapshot.major_pos_vol if greek else None,
        "major_negative": snapshot.major_neg_vol if greek else None,
        "net": snapshot.sum_gex_vol,
    }
    return ",".join([f"{snapshot.timestamp:.1f}", *(_number(values[name]) for name in HISTORY_COLUMNS[1:])])


def sierra_levels_csv(snapshot: GEXSnapshot) -> str:
    """The levels file's text: one `price,label,#RRGGBB` line per level the snapshot has."""
    greek = is_greek_category(snapshot.category)
    lines = []
    for attribute, label, colour in LEVELS:
        price = getattr(snapshot, attribute)
        if price is None or not math.isfinite(price) or round(price, 2) <= 0:
            continue
        shown = GREEK_LEVEL_LABELS.get(attribute, label) if greek else label
        # At least "0.01,,#RRGGBB": 13 characters, past the study's 10-character cut-off.
        lines.append(f"{price:.2f},{shown},{colour}")
    return "".join(f"{line}\n" for line in lines)


def _write_temp(directory: Path, name: str, data: bytes) -> Path:
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    return Path(temp)


def sierra_levels_write(*, snapshot: GEXSnapshot, directory: Path) -> Path:
    """Replace the levels file atomically. No fsync: the file is rebuilt on the next snapshot, so
    a crash costs at most one stale file, and an fsync per poll would load the disk for nothing."""
    path = sierra_levels_path(snapshot=snapshot, directory=directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_temp(path.parent, path.name, sierra_levels_csv(snapshot).encode("ascii"))
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def _create_with_header(path: Path) -> None:
    """Create the history file with its header in one step: a reader never finds it empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_temp(path.parent, path.name, (HISTORY_HEADER + CRLF).encode("ascii"))
    try:
        os.link(temp, path)
    except FileExistsError:
        pass  # another writer created it first; its header is as good as ours
    finally:
        temp.unlink(missing_ok=True)


def _tail(fd: int) -> tuple[bytes, int]:
    """The file's last bytes and its size."""
    size = os.fstat(fd).st_size
    start = max(0, size - _TAIL_BYTES)
    return os.pread(fd, size - start, start), size


def _page_aligned(line: bytes, size: int) -> bytes:
    """`line` (ending in CRLF), padded with spaces before its CRLF when the next line might not
    fit in what is left of the page.

    One write is not enough for a reader never to see half a line: Linux copies a write into the
    page cache page by page and grows the file after each page, so a reader can see the part of a
    line that lies before a page boundary on its own (measured on ext4). A line that never crosses
    a boundary appears whole. So a line that would leave less than the longest line's room on its
    page fills the page; spaces at the end of the last field are what CSV and ACSIL readers trim.
    """
    room = PAGE_BYTES - size % PAGE_BYTES - len(line)
    if 0 < room < MAX_LINE_BYTES:
        return line[: -len(CRLF)] + b" " * room + CRLF.encode("ascii")
    return line


def _last_timestamp(tail: bytes, path: Path) -> float | None:
    """The timestamp of the last complete data line, None when there is none yet."""
    complete = tail[: tail.rfind(b"\n") + 1].rstrip(b"\r\n")
    last = complete.rsplit(b"\n", 1)[-1].strip()
    first = last.split(b",", 1)[0]
    if not first or first == b"timestamp":
        return None
    try:
        return float(first)
    except ValueError:
        log.warning("sierra.history_unreadable_last_line", file=str(path), line=last[:80].decode("ascii", "replace"))
        return None


def sierra_history_append(*, snapshot: GEXSnapshot, directory: Path) -> bool:
    """Append the snapshot's line to the day's history file; False (nothing written) when the
    file's last line is as new or newer."""
    path = sierra_history_path(snapshot=snapshot, directory=directory)
    if not path.exists():
        _create_with_header(path)
    line = (sierra_history_line(snapshot) + CRLF).encode("ascii")
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        # Two writers (a poller restarted while the old one drains) must not both pass the check.
        fcntl.flock(fd, fcntl.LOCK_EX)
        tail, size = _tail(fd)
        last = _last_timestamp(tail, path)
        if last is not None and snapshot.timestamp <= last:
            return False
        if tail and not tail.endswith(b"\n"):
            # A line cut short by a crash or a full disk: end it, so this line stays whole.
            log.warning("sierra.history_torn_line_closed", file=str(path))
            line = CRLF.encode("ascii") + line
        line = _page_aligned(line, size)
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"{path}: wrote {written} of {len(line)} bytes of a history line (disk full?)")
        return True
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def sierra_snapshot_write(*, snapshot: GEXSnapshot, directory: Path) -> SierraWrite:
    """Both files for one snapshot (the poller calls this for each new snapshot). A snapshot the
    history already has, or an older one, changes neither file."""
    appended = sierra_history_append(snapshot=snapshot, directory=directory)
    if appended:
        sierra_levels_write(snapshot=snapshot, directory=directory)
    return SierraWrite(
        levels=sierra_levels_path(snapshot=snapshot, directory=directory),
        history=sierra_history_path(snapshot=snapshot, directory=directory),
        appended=appended,
    )
