"""The Sierra Chart files: byte-exact against golden files, append-only with restart safety, and
never seen half-written by a reader that polls them while they are written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apps.gex.sierra import (
    HISTORY_HEADER,
    PAGE_BYTES,
    HistoryLayout,
    sierra_history_append,
    sierra_history_line,
    sierra_history_path,
    sierra_levels_csv,
    sierra_levels_path,
    sierra_levels_write,
    sierra_snapshot_write,
)
from apps.gex.snapshots import GEXSnapshot

GOLDEN = Path(__file__).parent / "golden"
TERMINAL = HistoryLayout.GEXBOT_TERMINAL

# The vendor's documented chain (gex_scid.md §1.3), then one with fields missing, then one with a
# negative sum and a value Python would print as 1e-05.
FULL = GEXSnapshot(
    ticker="SPX",
    package="classic",
    category="gex_full",
    timestamp=1777492800,
    spot=7138.55,
    zero_gamma=7112.95,
    major_pos_vol=7135,
    major_pos_oi=7200,
    major_neg_vol=7100,
    major_neg_oi=6900,
    sum_gex_vol=1712585.519,
    sum_gex_oi=51521.105,
    delta_risk_reversal=0.118,
)
PARTIAL = GEXSnapshot(
    ticker="SPX",
    package="classic",
    category="gex_full",
    timestamp=1777492801,
    spot=7139.1,
    major_pos_vol=7135,
    major_neg_vol=7100,
    sum_gex_vol=1711000.25,
)
SMALL = GEXSnapshot(
    ticker="SPX",
    package="classic",
    category="gex_full",
    timestamp=1777492802,
    spot=7137.25,
    zero_gamma=7110.5,
    major_pos_vol=7140,
    major_pos_oi=7200,
    major_neg_vol=7095,
    major_neg_oi=6900,
    sum_gex_vol=-12.5,
    sum_gex_oi=51500.0,
    delta_risk_reversal=0.00001,
)


def snapshot_at(timestamp: int, *, spot: float = 7000.0) -> GEXSnapshot:
    return GEXSnapshot(
        ticker="SPX",
        package="classic",
        category="gex_zero",
        timestamp=timestamp,
        spot=spot,
        zero_gamma=spot - 10,
        major_pos_vol=spot + 25,
        major_neg_vol=spot - 25,
        sum_gex_vol=123456.789,
    )


def test_levels_and_history_match_the_golden_files_byte_for_byte(tmp_path: Path) -> None:
    levels = tmp_path / "SPX_classic_gex_full_levels.csv"
    # 1777492800 is 16:00 on 2026-04-29 in New York: the history goes in that day's folder.
    history = tmp_path / "Tickers 04.29.2026" / "SPX_classic_gex_full.csv"

    written = sierra_snapshot_write(snapshot=FULL, directory=tmp_path, layout=TERMINAL)
    assert (written.levels, written.history, written.appended) == (levels, history, True)
    assert levels.read_bytes() == (GOLDEN / "sierra_levels_full.csv").read_bytes()

    sierra_snapshot_write(snapshot=PARTIAL, directory=tmp_path, layout=TERMINAL)
    assert levels.read_bytes() == (GOLDEN / "sierra_levels_partial.csv").read_bytes()

    sierra_snapshot_write(snapshot=SMALL, directory=tmp_path, layout=TERMINAL)
    assert history.read_bytes() == (GOLDEN / "sierra_history.csv").read_bytes()
    assert sorted(path.name for path in tmp_path.rglob("*")) == [
        "SPX_classic_gex_full.csv",
        "SPX_classic_gex_full_levels.csv",
        "Tickers 04.29.2026",
    ]  # no temporary files left behind


def test_history_is_ascii_crlf_with_fifteen_columns_and_net_is_sum_gex_vol(tmp_path: Path) -> None:
    for snapshot in (FULL, PARTIAL, SMALL):
        sierra_history_append(snapshot=snapshot, directory=tmp_path, layout=TERMINAL)
    data = sierra_history_path(snapshot=FULL, directory=tmp_path).read_bytes()
    data.decode("ascii")
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert lines[0].decode() == HISTORY_HEADER
    assert all(b"\n" not in line and b'"' not in line and len(line.split(b",")) == 15 for line in lines)
    assert [line.split(b",")[-1] for line in lines[1:]] == [b"1712585.519", b"1711000.25", b"-12.5"]
    assert sierra_history_line(FULL) == lines[1].decode()


def test_levels_leave_out_what_the_study_cannot_draw(tmp_path: Path) -> None:
    # GEXBot's State package reports zero_gamma as 0; the study stops at the first price <= 0.
    state = GEXSnapshot(
        ticker="SPX", package="state", category="gex_zero", timestamp=1777492800, spot=7138.55, zero_gamma=0.0,
        major_pos_vol=7135, major_neg_vol=-1.0, major_pos_oi=float("nan"),
    )  # fmt: skip
    text = sierra_levels_csv(state)
    assert text == (
        "7138.55,Spot,#FFFFFF\n7135.00,Major + Vol,#00C000\n"
        "0.00,computed 2026-04-29 16:00:00 New York by gexbot,#808080\n"
    )
    for line in text.splitlines()[:-1]:
        price, label, colour = line.split(",")
        assert len(line) >= 10
        assert float(price) > 0
        assert label
        assert len(colour) == 7
        assert colour.startswith("#")


def test_levels_carry_the_call_and_put_walls_of_a_computed_snapshot() -> None:
    computed = GEXSnapshot(
        ticker="ES_SPX", package="local", category="gex_full", timestamp=1777492800, spot=6001.25,
        zero_gamma=5987.5, major_pos_oi=6050.0, major_neg_oi=5950.0, call_wall=6100.0, put_wall=5900.0,
        source="simulated",
    )  # fmt: skip
    assert sierra_levels_csv(computed) == (
        "6001.25,Spot,#FFFFFF\n"
        "5987.50,Zero Gamma,#FCB103\n"
        "6050.00,Major + OI,#00FFFF\n"
        "5950.00,Major - OI,#FFA500\n"
        "6100.00,Call Wall,#00A0FF\n"
        "5900.00,Put Wall,#FF00FF\n"
        "0.00,computed 2026-04-29 16:00:00 New York by simulated,#808080\n"
    )
    # History lines keep the terminal studies' 15 columns: the walls are not among them.
    assert len(sierra_history_line(computed).split(",")) == 15


def test_greek_majors_go_to_the_major_positive_and_negative_columns(tmp_path: Path) -> None:
    greek = GEXSnapshot(
        ticker="SPX", package="state", category="gamma_zero", timestamp=1777492800, spot=7138.55,
        major_pos_vol=7150, major_neg_vol=7050,
    )  # fmt: skip
    fields = sierra_history_line(greek).split(",")
    assert dict(zip(HISTORY_HEADER.split(","), fields, strict=True)) == {
        "timestamp": "1777492800.0", "spot": "7138.55", "zero_gamma": "", "major_pos_vol": "", "major_neg_vol": "",
        "major_pos_oi": "", "major_neg_oi": "", "sum_gex_vol": "", "sum_gex_oi": "", "delta_risk_reversal": "",
        "major_long_gamma": "", "major_short_gamma": "", "major_positive": "7150.0", "major_negative": "7050.0",
        "net": "",
    }  # fmt: skip
    assert sierra_levels_csv(greek) == (
        "7138.55,Spot,#FFFFFF\n7150.00,Major Positive,#00C000\n7050.00,Major Negative,#E00000\n"
        "0.00,computed 2026-04-29 16:00:00 New York by gexbot,#808080\n"
    )


def test_a_restarted_writer_skips_what_the_file_already_has(tmp_path: Path) -> None:
    first, second = snapshot_at(1777492800), snapshot_at(1777492805, spot=7001.0)
    assert sierra_snapshot_write(snapshot=first, directory=tmp_path).appended
    assert sierra_snapshot_write(snapshot=second, directory=tmp_path).appended
    history = sierra_history_path(snapshot=first, directory=tmp_path)
    levels = sierra_levels_path(snapshot=first, directory=tmp_path)
    before = history.read_bytes(), levels.read_bytes()

    # A new process (nothing in memory) sees the same and an older snapshot: neither file changes.
    assert not sierra_snapshot_write(snapshot=second, directory=tmp_path).appended
    assert not sierra_snapshot_write(snapshot=first, directory=tmp_path).appended
    assert (history.read_bytes(), levels.read_bytes()) == before
    assert levels.read_text().startswith("7001.00,Spot,")

    assert sierra_snapshot_write(snapshot=snapshot_at(1777492806), directory=tmp_path).appended
    assert history.read_bytes().count(b"\r\n") == 4  # header + 3 snapshots


def test_a_line_cut_short_by_a_crash_is_closed_before_the_next_one(tmp_path: Path) -> None:
    sierra_history_append(snapshot=snapshot_at(1777492800), directory=tmp_path, layout=TERMINAL)
    history = sierra_history_path(snapshot=snapshot_at(1777492800), directory=tmp_path)
    with history.open("ab") as handle:
        handle.write(b"1777492801.0,7000.")  # what a crash mid-write would leave

    assert sierra_history_append(snapshot=snapshot_at(1777492802), directory=tmp_path, layout=TERMINAL)
    lines = history.read_bytes().split(b"\r\n")
    assert lines[-2] == sierra_history_line(snapshot_at(1777492802)).encode()
    assert lines[-3] == b"1777492801.0,7000."
    assert lines[-1] == b""


@pytest.mark.calendar
def test_history_files_roll_over_on_the_new_york_date(tmp_path: Path) -> None:
    # 2026-04-30 03:59:59 UTC is still the 29th in New York; 04:00:00 is the 30th.
    before, after = snapshot_at(1777521599), snapshot_at(1777521600)
    sierra_history_append(snapshot=before, directory=tmp_path, layout=TERMINAL)
    sierra_history_append(snapshot=after, directory=tmp_path, layout=TERMINAL)
    assert sierra_history_path(snapshot=before, directory=tmp_path).parent.name == "Tickers 04.29.2026"
    assert sierra_history_path(snapshot=after, directory=tmp_path).parent.name == "Tickers 04.30.2026"
    for snapshot in (before, after):
        data = sierra_history_path(snapshot=snapshot, directory=tmp_path).read_bytes()
        assert data == f"{HISTORY_HEADER}\r\n{sierra_history_line(snapshot)}\r\n".encode()


# Sierra Chart reads from another process: so does this reader, on another core, polling the file
# as fast as it can until told to stop, and reporting every read that was not a complete version.
READER = r"""
import json, sys
from pathlib import Path

path, stop, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
valid = [bytes.fromhex(item) for item in json.loads(sys.stdin.read())]
reads, versions, bad = 0, set(), []
print("ready", flush=True)
while not stop.exists():
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        continue
    reads += 1
    versions.add(hash(data))
    if mode == "whole":
        ok = data in valid
    else:  # the first lines of those being appended, each whole (spaces before CRLF are padding)
        lines = [line.rstrip(b" ") for line in data.split(b"\r\n")]
        ok = data.endswith(b"\r\n") and lines[:-1] == valid[: len(lines) - 1]
    if not ok and len(bad) < 3:
        bad.append(f"{len(data)} {len(data) % 4096} " + data[-300:].decode("ascii", "replace"))
print(json.dumps({"reads": reads, "versions": len(versions), "bad": bad}), flush=True)
"""


def _read_concurrently(
    path: Path, stop: Path, mode: str, valid: list[bytes], write: Callable[[], None]
) -> dict[str, Any]:
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path), str(stop), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdin is not None
    assert reader.stdout is not None
    try:
        reader.stdin.write(json.dumps([item.hex() for item in valid]))
        reader.stdin.close()
        assert reader.stdout.readline().strip() == "ready"
        write()
    finally:
        stop.touch()
        output = reader.stdout.read()
        reader.wait(timeout=60)
    return json.loads(output)


def test_a_reader_never_sees_a_partial_levels_file(tmp_path: Path) -> None:
    variants = [snapshot_at(1777492800 + index, spot=7000.0 + index) for index in range(7)]
    valid = [sierra_levels_csv(snapshot).encode() for snapshot in variants]
    path = sierra_levels_path(snapshot=variants[0], directory=tmp_path / "sierra")
    sierra_levels_write(snapshot=variants[0], directory=tmp_path / "sierra")

    def write() -> None:
        for index in range(1500):
            sierra_levels_write(snapshot=variants[index % len(variants)], directory=tmp_path / "sierra")

    result = _read_concurrently(path, tmp_path / "stop", "whole", valid, write)
    assert result["bad"] == []
    assert result["versions"] > 1  # the reader really read while the file was being replaced
    assert [item.name for item in (tmp_path / "sierra").iterdir()] == [path.name]


def test_a_reader_never_sees_a_partial_history_line(tmp_path: Path) -> None:
    snapshots = [snapshot_at(1777492800 + index, spot=7000.0 + index / 4) for index in range(3000)]
    path = sierra_history_path(snapshot=snapshots[0], directory=tmp_path)
    lines = [HISTORY_HEADER.encode()] + [sierra_history_line(snapshot).encode() for snapshot in snapshots]

    def write() -> None:
        for snapshot in snapshots:
            assert sierra_history_append(snapshot=snapshot, directory=tmp_path, layout=TERMINAL)

    result = _read_concurrently(path, tmp_path / "stop", "lines", lines, write)
    assert result["bad"] == []
    assert result["versions"] > 10  # the reader saw the file grow
    data = path.read_bytes()
    assert [line.rstrip(b" ") for line in data.split(b"\r\n")] == [*lines, b""]
    # No line crosses a page boundary, where the kernel would show its first part on its own.
    offset = 0
    for line in data.split(b"\r\n")[:-1]:
        end = offset + len(line) + 2
        assert offset // PAGE_BYTES == (end - 1) // PAGE_BYTES, (offset, end)
        offset = end
    assert len(data) > 3 * PAGE_BYTES


def test_the_sierra_layout_has_a_new_york_date_and_time_and_no_column_left_empty(tmp_path: Path) -> None:
    # 1777492800 is Wednesday 2026-04-29 16:00:00 in New York (20:00 UTC, daylight time).
    for snapshot in (FULL, PARTIAL, SMALL):
        assert sierra_history_append(snapshot=snapshot, directory=tmp_path)
    data = sierra_history_path(snapshot=FULL, directory=tmp_path).read_bytes()
    assert data == (
        b"Date,Time,Spot,Zero Gamma,Major Pos Vol,Major Neg Vol,Major Pos OI,Major Neg OI,Net GEX Vol,"
        b"Net GEX OI,Delta Risk Reversal\r\n"
        b"2026-04-29,16:00:00,7138.55,7112.95,7135.0,7100.0,7200.0,6900.0,1712585.519,51521.105,0.118\r\n"
        b"2026-04-29,16:00:01,7139.1,,7135.0,7100.0,,,1711000.25,,\r\n"
        b"2026-04-29,16:00:02,7137.25,7110.5,7140.0,7095.0,7200.0,6900.0,-12.5,51500.0,0.00001\r\n"
    )


def test_a_greek_profile_history_has_only_the_columns_a_greek_profile_fills(tmp_path: Path) -> None:
    greek = GEXSnapshot(
        ticker="SPX", package="state", category="gamma_zero", timestamp=1777492800, spot=7138.55,
        zero_gamma=7120.0, major_pos_vol=7150, major_neg_vol=7050,
    )  # fmt: skip
    sierra_history_append(snapshot=greek, directory=tmp_path)
    assert sierra_history_path(snapshot=greek, directory=tmp_path).read_bytes() == (
        b"Date,Time,Spot,Zero Gamma,Major Positive,Major Negative\r\n"
        b"2026-04-29,16:00:00,7138.55,7120.0,7150.0,7050.0\r\n"
    )


@pytest.mark.calendar
def test_the_sierra_layout_shows_standard_time_after_the_november_dst_change(tmp_path: Path) -> None:
    # Monday 2026-11-02 14:30 UTC is 09:30 in New York (EST, UTC-5) the day after the change.
    snapshot = snapshot_at(int(datetime(2026, 11, 2, 14, 30, tzinfo=UTC).timestamp()))
    sierra_history_append(snapshot=snapshot, directory=tmp_path)
    path = sierra_history_path(snapshot=snapshot, directory=tmp_path)
    assert path.parent.name == "Tickers 11.02.2026"
    assert path.read_bytes().split(b"\r\n")[1].startswith(b"2026-11-02,09:30:00,7000.0,")


def test_a_history_file_keeps_the_layout_it_was_started_with(tmp_path: Path) -> None:
    # The setting changed mid-day: the day's file goes on in its own layout, never mixing two.
    sierra_history_append(snapshot=snapshot_at(1777492800), directory=tmp_path, layout=TERMINAL)
    assert sierra_history_append(snapshot=snapshot_at(1777492801), directory=tmp_path)
    assert not sierra_history_append(snapshot=snapshot_at(1777492801), directory=tmp_path)
    lines = sierra_history_path(snapshot=snapshot_at(1777492800), directory=tmp_path).read_bytes().split(b"\r\n")
    assert lines[0] == HISTORY_HEADER.encode()
    assert [line.split(b",")[0] for line in lines[1:-1]] == [b"1777492800.0", b"1777492801.0"]


def test_files_and_folders_are_readable_by_others_with_the_configured_mode(tmp_path: Path) -> None:
    old = os.umask(0o077)  # a strict umask, as on a hardened host, must not make them private
    try:
        written = sierra_snapshot_write(snapshot=FULL, directory=tmp_path / "sierra")
        day_folder = written.history.parent
        assert stat.S_IMODE(written.levels.stat().st_mode) == 0o644
        assert stat.S_IMODE(written.history.stat().st_mode) == 0o644
        assert stat.S_IMODE(day_folder.stat().st_mode) == 0o755

        sierra_snapshot_write(snapshot=PARTIAL, directory=tmp_path / "shared", mode=0o640)
        shared = sierra_levels_path(snapshot=PARTIAL, directory=tmp_path / "shared")
        assert stat.S_IMODE(shared.stat().st_mode) == 0o640
        history = sierra_history_path(snapshot=PARTIAL, directory=tmp_path / "shared")
        assert stat.S_IMODE(history.parent.stat().st_mode) == 0o750
    finally:
        os.umask(old)
