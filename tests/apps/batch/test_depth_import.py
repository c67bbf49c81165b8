"""Sierra Chart .depth files, written byte by byte here, into depth_data as snapshots (a CLEAR
and its levels) and updates, like live depth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.apps.batch.conftest import lake_files, lake_rows
from tests.apps.batch.sierra_writer import depth_header, depth_record, write_depth

T0 = datetime(2025, 12, 19, 14, 30, tzinfo=UTC)
END_OF_BATCH = 0x01


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_scid", *args, "--here", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_snapshot_and_updates_land_as_depth_operations(lake: Path, tmp_path: Path) -> None:
    ms = timedelta(milliseconds=1)
    path = write_depth(
        tmp_path / "ESZ25_FUT_CME.2025-12-19.depth",
        [
            depth_record(T0, 1),  # CLEAR_BOOK: a snapshot begins
            depth_record(T0, 2, price=6000.0, quantity=12, orders=3),  # ADD_BID_LEVEL
            depth_record(T0, 3, price=6000.25, quantity=9, orders=2, flags=END_OF_BATCH),  # ADD_ASK_LEVEL
            depth_record(T0 + ms, 4, price=6000.0, quantity=15),  # MODIFY_BID_LEVEL
            depth_record(T0 + 2 * ms, 7, price=6000.25, quantity=9),  # DELETE_ASK_LEVEL
            depth_record(T0 + 3 * ms, 0),  # NO_COMMAND: nothing
        ],
        tail=b"\x00" * 5,
    )

    output = run(str(path))

    rows = lake_rows(lake, "depth_data", "symbol, ts_event, op, side, price, size, feed")
    assert rows == [
        ("ESZ25", T0, 0, 0, 0.0, 0, "sierra"),
        ("ESZ25", T0, 1, 1, 6000.0, 12, "sierra"),
        ("ESZ25", T0, 1, 2, 6000.25, 9, "sierra"),
        ("ESZ25", T0 + ms, 1, 1, 6000.0, 15, "sierra"),
        ("ESZ25", T0 + 2 * ms, 1, 2, 6000.25, 0, "sierra"),
    ]
    assert f"{path} (byte 208, record 6): a truncated last record of 5 of 24 bytes was ignored" in output
    assert "snapshots 1" in output


@pytest.mark.django_db
def test_an_unknown_command_is_warned_about_naming_offset_and_record(lake: Path, tmp_path: Path) -> None:
    path = write_depth(
        tmp_path / "NQH26-CME.2025-12-19.depth",
        [
            depth_record(T0, 1),
            depth_record(T0, 9, price=21000.0, quantity=1),
            depth_record(T0, 2, price=21000.0, quantity=4),
        ],
    )

    output = run(str(path))

    assert f"{path} (byte 88, record 1): unknown depth command 9; skipped" in output
    assert lake_rows(lake, "depth_data", "op, side, price, size") == [(0, 0, 0.0, 0), (1, 1, 21000.0, 4)]


@pytest.mark.django_db
def test_a_file_that_is_not_depth_fails_and_leaves_the_lake_untouched(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "ESZ25_FUT_CME.2025-12-19.depth"
    path.write_bytes(depth_header(record_size=32) + b"\0" * 32)
    with pytest.raises(CommandError) as failure:
        run(str(path))
    assert f"{path} (byte 8): record size 32 is not one this reader knows (24)" in str(failure.value)
    assert lake_files(lake) == []
