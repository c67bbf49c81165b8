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
- `Tickers MM.DD.YYYY/{TICKER}_{package}_{category}.csv` — the day's history (the date is the
  snapshot's New York date), in one of two layouts (runtime setting `gex.sierra_history_layout`):
  - `sierra` (default): `Date,Time` in New York (exchange) time, `YYYY-MM-DD` and `HH:MM:SS`, the
    form Sierra Chart's Text/CSV files and spreadsheets read, then only the columns the category
    fills: a GEX chain's spot, zero gamma, majors, net GEX and risk reversal; a State greek
    profile's spot, zero gamma and major positive/negative. No column is empty on every line.
  - `gexbot_terminal`: the layout and 15-column header of the GEXBot terminal studies
    (DorelRoata/SierraChartsGexBot), `timestamp` in Unix seconds with one decimal: set the study's
    CSV read path to the directory and its ticker to `{TICKER}_{package}_{category}`.
  A file keeps the layout its header names (a change of the setting starts with the next new file,
  so one file never mixes two). ASCII, `.` decimals, no quotes, CRLF. Append-only: each snapshot
  is one whole line written by a single `os.write` on an O_APPEND descriptor and kept inside one
  memory page (a line that would leave too little room on its page is padded with spaces before
  its CRLF; see `_page_aligned`), the header is in the file from the moment it exists (written to
  a temporary file, then hard-linked into place), and a snapshot whose time is not newer than the
  last line's is skipped, so a restarted poller repeats nothing. (In the `sierra` layout the time
  is New York wall time, so in the repeated hour of the autumn DST change — 01:00-02:00 on a
  Sunday, when CME equity futures are closed and no poll runs — a later snapshot would be skipped.)

Files and the day folders are created with `SIERRA_FILE_MODE` (0644 unless set; folders add the
execute bits of each read bit), so a share or a second user can read them; `mkstemp`'s 0600 is
never left on a file. The levels file ends with a line saying when the snapshot was computed and
by which source, priced 0.00 so that the study, which stops at the first price that is not
positive, never draws it.

A value a snapshot lacks is an empty field, never 0: 0 is a real value (GEXBot's State package
reports zeros), and the studies read an empty field as 0 anyway. `net` is `sum_gex_vol`. GEXSnapshot
has no `major_long_gamma`/`major_short_gamma`, so those terminal columns stay empty; for greek
categories (`gamma_zero`, ...) the parser keeps `major_positive`/`major_negative` in
`major_pos_vol`/`major_neg_vol`, and they are written to the `major_positive`/`major_negative`
columns instead. The levels file also has the call and put walls when the snapshot has them
(computed sources); the history files keep to the columns every source fills.
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
from enum import StrEnum
from pathlib import Path

import structlog

from apps.core.clock import to_exchange
from apps.gex.parsing import is_greek_category
from apps.gex.snapshots import GEXSnapshot

log = structlog.get_logger(__name__)


class HistoryLayout(StrEnum):
    SIERRA = "sierra"
    GEXBOT_TERMINAL = "gexbot_terminal"


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
# The GEXBot terminal studies' header (the `gexbot_terminal` layout).
HISTORY_HEADER = ",".join(HISTORY_COLUMNS)
# The `sierra` layout: (header name, snapshot attribute) after `Date,Time`, per kind of category.
SIERRA_GEX_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Spot", "spot"),
    ("Zero Gamma", "zero_gamma"),
    ("Major Pos Vol", "major_pos_vol"),
    ("Major Neg Vol", "major_neg_vol"),
    ("Major Pos OI", "major_pos_oi"),
    ("Major Neg OI", "major_neg_oi"),
    ("Net GEX Vol", "sum_gex_vol"),
    ("Net GEX OI", "sum_gex_oi"),
    ("Delta Risk Reversal", "delta_risk_reversal"),
)
SIERRA_GREEK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Spot", "spot"),
    ("Zero Gamma", "zero_gamma"),
    ("Major Positive", "major_pos_vol"),
    ("Major Negative", "major_neg_vol"),
)
CRLF = "\r\n"
# A history line is well under this (15 numbers); reading this much of the file's end finds the last one.
MAX_LINE_BYTES = 512
_TAIL_BYTES = 4096
PAGE_BYTES = mmap.PAGESIZE
DEFAULT_FILE_MODE = 0o644
# Below 0.01 the levels study stops reading; the "computed at" line is priced so, and comes last.
_STAMP_COLOUR = "#808080"

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


def _exchange_time(snapshot: GEXSnapshot) -> datetime:
    return to_exchange(datetime.fromtimestamp(snapshot.timestamp, tz=UTC))


def sierra_levels_path(*, snapshot: GEXSnapshot, directory: Path) -> Path:
    return directory / f"{_stem(snapshot)}_levels.csv"


def sierra_history_path(*, snapshot: GEXSnapshot, directory: Path) -> Path:
    day = _exchange_time(snapshot).date()
    return directory / f"Tickers {day:%m.%d.%Y}" / f"{_stem(snapshot)}.csv"


def _directory_mode(file_mode: int) -> int:
    """A folder whose files are readable by someone must be enterable by them: add x to each r."""
    return file_mode | ((file_mode & 0o444) >> 2)


def _number(value: float | None) -> str:
    """Plain decimal notation, as short as round-trips (never `1e-05`); empty for None, NaN and inf."""
    if value is None or not math.isfinite(value):
        return ""
    return format(Decimal(repr(float(value))), "f")


def sierra_history_line(snapshot: GEXSnapshot) -> str:
    """One `gexbot_terminal` history row for `snapshot`, without its line ending (the file adds
    CRLF). Also the payload of the `/ws/sc` topic."""
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


def _sierra_columns(category: str) -> tuple[tuple[str, str], ...]:
    return SIERRA_GREEK_COLUMNS if is_greek_category(category) else SIERRA_GEX_COLUMNS


def sierra_history_header(*, category: str, layout: HistoryLayout) -> str:
    if layout is HistoryLayout.GEXBOT_TERMINAL:
        return HISTORY_HEADER
    return ",".join(["Date", "Time", *(name for name, _ in _sierra_columns(category))])


def sierra_history_row(*, snapshot: GEXSnapshot, layout: HistoryLayout) -> str:
    """One history row in `layout`, without its line ending."""
    if layout is HistoryLayout.GEXBOT_TERMINAL:
        return sierra_history_line(snapshot)
    moment = _exchange_time(snapshot)
    values = (_number(getattr(snapshot, attribute)) for _, attribute in _sierra_columns(snapshot.category))
    return ",".join([f"{moment:%Y-%m-%d}", f"{moment:%H:%M:%S}", *values])


def sierra_levels_csv(snapshot: GEXSnapshot) -> str:
    """The levels file's text: one `price,label,#RRGGBB` line per level the snapshot has, then the
    line that says when and by which source the levels were computed (priced 0.00: the study
    stops reading there, so it is never drawn)."""
    greek = is_greek_category(snapshot.category)
    lines = []
    for attribute, label, colour in LEVELS:
        price = getattr(snapshot, attribute)
        if price is None or not math.isfinite(price) or round(price, 2) <= 0:
            continue
        shown = GREEK_LEVEL_LABELS.get(attribute, label) if greek else label
        # At least "0.01,,#RRGGBB": 13 characters, past the study's 10-character cut-off.
        lines.append(f"{price:.2f},{shown},{colour}")
    moment = _exchange_time(snapshot)
    lines.append(f"0.00,computed {moment:%Y-%m-%d %H:%M:%S} New York by {snapshot.source},{_STAMP_COLOUR}")
    return "".join(f"{line}\n" for line in lines)


def _write_temp(directory: Path, name: str, data: bytes, mode: int) -> Path:
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; the file must be readable as configured once it is in place.
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    return Path(temp)


def _make_folder(folder: Path, file_mode: int) -> None:
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    # mkdir's mode is masked by the umask; the configured mode is what the share needs.
    with contextlib.suppress(OSError):
        folder.chmod(_directory_mode(file_mode))


def sierra_levels_write(*, snapshot: GEXSnapshot, directory: Path, mode: int = DEFAULT_FILE_MODE) -> Path:
    """Replace the levels file atomically. No fsync: the file is rebuilt on the next snapshot, so
    a crash costs at most one stale file, and an fsync per poll would load the disk for nothing."""
    path = sierra_levels_path(snapshot=snapshot, directory=directory)
    _make_folder(path.parent, mode)
    temp = _write_temp(path.parent, path.name, sierra_levels_csv(snapshot).encode("ascii"), mode)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def _create_with_header(path: Path, header: str, mode: int) -> None:
    """Create the history file with its header in one step: a reader never finds it empty."""
    _make_folder(path.parent, mode)
    temp = _write_temp(path.parent, path.name, (header + CRLF).encode("ascii"), mode)
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


def _file_layout(fd: int, path: Path, configured: HistoryLayout) -> HistoryLayout:
    """The layout the file's header names (a file never mixes two)."""
    first = os.pread(fd, MAX_LINE_BYTES, 0).split(b"\r\n", 1)[0]
    if first == HISTORY_HEADER.encode("ascii"):
        return HistoryLayout.GEXBOT_TERMINAL
    if first.startswith(b"Date,Time,"):
        return HistoryLayout.SIERRA
    log.warning("sierra.history_unknown_header", file=str(path), header=first[:80].decode("ascii", "replace"))
    return configured


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


def _wall_key(wall: datetime) -> float:
    """A New York wall time as a number that sorts like it (not a real epoch)."""
    return wall.replace(tzinfo=UTC).timestamp()  # the wall clock read as if it were UTC


def _row_time(fields: list[bytes], layout: HistoryLayout) -> float:
    if layout is HistoryLayout.GEXBOT_TERMINAL:
        return float(fields[0])
    text = f"{fields[0].decode('ascii')} {fields[1].decode('ascii')}"
    return _wall_key(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC))


def _snapshot_time(snapshot: GEXSnapshot, layout: HistoryLayout) -> float:
    if layout is HistoryLayout.GEXBOT_TERMINAL:
        return float(snapshot.timestamp)
    return _wall_key(_exchange_time(snapshot).replace(tzinfo=None))


def _last_time(tail: bytes, path: Path, layout: HistoryLayout) -> float | None:
    """The time of the last complete data line, None when there is none yet."""
    complete = tail[: tail.rfind(b"\n") + 1].rstrip(b"\r\n")
    last = complete.rsplit(b"\n", 1)[-1].strip()
    fields = last.split(b",")
    if not fields[0] or fields[0] in (b"timestamp", b"Date"):
        return None
    try:
        return _row_time(fields, layout)
    except (ValueError, IndexError, UnicodeDecodeError):
        log.warning("sierra.history_unreadable_last_line", file=str(path), line=last[:80].decode("ascii", "replace"))
        return None


def sierra_history_append(
    *,
    snapshot: GEXSnapshot,
    directory: Path,
    layout: HistoryLayout = HistoryLayout.SIERRA,
    mode: int = DEFAULT_FILE_MODE,
) -> bool:
    """Append the snapshot's line to the day's history file; False (nothing written) when the
    file's last line is as new or newer. A new file gets `layout`; an existing one keeps its own."""
    path = sierra_history_path(snapshot=snapshot, directory=directory)
    if not path.exists():
        _create_with_header(path, sierra_history_header(category=snapshot.category, layout=layout), mode)
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        # Two writers (a poller restarted while the old one drains) must not both pass the check.
        fcntl.flock(fd, fcntl.LOCK_EX)
        in_file = _file_layout(fd, path, layout)
        tail, size = _tail(fd)
        last = _last_time(tail, path, in_file)
        if last is not None and _snapshot_time(snapshot, in_file) <= last:
            return False
        line = (sierra_history_row(snapshot=snapshot, layout=in_file) + CRLF).encode("ascii")
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


def sierra_snapshot_write(
    *,
    snapshot: GEXSnapshot,
    directory: Path,
    layout: HistoryLayout = HistoryLayout.SIERRA,
    mode: int = DEFAULT_FILE_MODE,
) -> SierraWrite:
    """Both files for one snapshot (the poller calls this for each new snapshot). A snapshot the
    history already has, or an older one, changes neither file."""
    appended = sierra_history_append(snapshot=snapshot, directory=directory, layout=layout, mode=mode)
    if appended:
        sierra_levels_write(snapshot=snapshot, directory=directory, mode=mode)
    return SierraWrite(
        levels=sierra_levels_path(snapshot=snapshot, directory=directory),
        history=sierra_history_path(snapshot=snapshot, directory=directory),
        appended=appended,
    )
