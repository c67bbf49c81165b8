"""Sierra Chart .scid files, written byte by byte here, into the lake: exact rows for trades at
the bid and at the ask, bid/ask-only updates, bars, legacy dates and a truncated tail; bad
files fail naming the file, byte offset or record and leave the lake untouched; a growing file
imports only what was appended; the same file twice imports once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.batch.models import BatchJob, SourceCheckpoint
from apps.batch.services import job_run_here, job_submit
from apps.storage.compaction import partition_compact
from apps.storage.trade_queries import lake_trades
from tests.apps.batch.conftest import lake_files, lake_rows
from tests.apps.batch.sierra_writer import (
    FIRST_SUB,
    LAST_SUB,
    Rec,
    append_scid,
    bar,
    quote,
    scid_header,
    trade,
    write_scid,
)

# Friday 2025-12-19, ESZ25's expiry day, 14:30 UTC (09:30 New York).
T0 = datetime(2025, 12, 19, 14, 30, tzinfo=UTC)


def ts(moment: datetime) -> datetime:
    return moment


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_scid", *args, "--here", stdout=out)
    return out.getvalue()


def tick_file(path: Path) -> Path:
    return write_scid(
        path,
        [
            trade(T0, 6000.25, bid=6000.0, ask=6000.25, size=3, at_ask=True),
            quote(T0 + timedelta(microseconds=1), bid=6000.0, ask=6000.5),
            trade(T0 + timedelta(seconds=1), 6000.0, bid=6000.0, ask=6000.25, size=2, at_ask=False),
            # An unbundled trade: its sub-trades carry FIRST/LAST markers in Open.
            Rec(T0 + timedelta(seconds=2), FIRST_SUB, 4500.25, 4500.0, 4500.1, 1, 5, 0, 5),
            Rec(T0 + timedelta(seconds=2, microseconds=1), LAST_SUB, 4500.25, 4500.0, 4500.25, 1, 1, 0, 1),
        ],
    )


@pytest.mark.django_db
def test_trades_quotes_and_sides_land_as_exact_rows(lake: Path, tmp_path: Path) -> None:
    path = tick_file(tmp_path / "ESZ25_FUT_CME.scid")

    output = run(str(path))

    assert "done" in output
    trades = lake_rows(
        lake, "tick_data", "symbol, date::varchar, ts_event, ts_recv, price, size, side, feed, seq, stream_id"
    )
    source = trades[0][9].split(":")[1]
    assert [row[:9] for row in trades] == [
        ("ESZ25", "2025-12-19", T0, T0, 6000.25, 3, 1, "sierra", 0),
        ("ESZ25", "2025-12-19", T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), 6000.0, 2, 2, "sierra", 2),
        ("ESZ25", "2025-12-19", T0 + timedelta(seconds=2), T0 + timedelta(seconds=2), 4500.1, 5, 1, "sierra", 3),
        ("ESZ25", "2025-12-19", T0 + timedelta(seconds=2, microseconds=1), T0 + timedelta(seconds=2, microseconds=1),
         4500.25, 1, 1, "sierra", 4),
    ]  # fmt: skip
    assert [row[9] for row in trades] == [f"sierra:{source}:{index}" for index in (0, 2, 3, 4)]
    quotes = lake_rows(
        lake, "quote_data", "symbol, ts_event, bid_price, bid_size, ask_price, ask_size, feed, stream_id"
    )
    assert quotes == [("ESZ25", T0 + timedelta(microseconds=1), 6000.0, 0, 6000.5, 0, "sierra", f"sierra:{source}:1")]
    assert lake_rows(lake, "bar_data") == []
    job = BatchJob.objects.get()
    assert job.state == BatchJob.State.DONE
    assert job.report["counts"] == {"quotes": 1, "records": 5, "trades": 4}
    assert (job.progress_done, job.progress_total, job.progress_unit) == (5, 5, "records")


@pytest.mark.django_db
def test_bar_files_are_stored_as_bars_not_ticks(lake: Path, tmp_path: Path) -> None:
    path = write_scid(
        tmp_path / "NQH26-CME.scid",
        [
            bar(T0, 21000.0, 21010.5, 20995.25, 21005.75, trades=120, volume=340, bid=150, ask=190),
            bar(T0 + timedelta(minutes=1), 21005.75, 21006.0, 21001.0, 21002.5, trades=1, volume=1, bid=1, ask=0),
        ],
    )

    run(str(path))

    assert lake_rows(lake, "tick_data") == []
    bars = lake_rows(
        lake, "bar_data", "symbol, ts_event, open, high, low, close, volume, num_trades, bid_volume, ask_volume, feed"
    )
    assert bars == [
        ("NQH26", T0, 21000.0, 21010.5, 20995.25, 21005.75, 340, 120, 150, 190, "sierra"),
        ("NQH26", T0 + timedelta(minutes=1), 21005.75, 21006.0, 21001.0, 21002.5, 1, 1, 1, 0, "sierra"),
    ]


@pytest.mark.django_db
def test_legacy_double_dates_and_a_truncated_tail(lake: Path, tmp_path: Path) -> None:
    records = [
        trade(T0, 6000.25, bid=6000.0, ask=6000.25, size=1, at_ask=True),
        trade(T0 + timedelta(seconds=30), 6000.5, bid=6000.25, ask=6000.5, size=4, at_ask=True),
    ]
    path = write_scid(tmp_path / "ESZ5.CME.scid", records, legacy=True, tail=b"\x01" * 17)

    output = run(str(path))

    rows = lake_rows(lake, "tick_data", "symbol, ts_event, price, size, side")
    assert rows == [("ESZ25", T0, 6000.25, 1, 1), ("ESZ25", T0 + timedelta(seconds=30), 6000.5, 4, 1)]
    assert f"{path} (byte 136, record 2): a truncated last record of 17 of 40 bytes was ignored" in output


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"SCDX" + scid_header()[4:], "(byte 0): not a Sierra Chart intraday file: starts with b'SCDX'"),
        (scid_header(record_size=44), "(byte 8): record size 44 is not one this reader knows (40)"),
        (scid_header(version=2), "(byte 12): version 2 is not one this reader knows (1)"),
        (scid_header(header_size=20), "(byte 4): header size 20 is impossible"),
    ],
)
@pytest.mark.django_db
def test_a_bad_header_fails_naming_file_and_offset_and_leaves_the_lake_untouched(
    lake: Path, tmp_path: Path, header: bytes, reason: str
) -> None:
    good = tick_file(tmp_path / "ESZ25_FUT_CME.scid")
    run(str(good))
    before = lake_files(lake)
    bad = write_scid(
        tmp_path / "ESH26_FUT_CME.scid", [trade(T0, 1.0, bid=1.0, ask=1.25, size=1, at_ask=True)], header=header
    )

    with pytest.raises(CommandError) as failure:
        run(str(bad))

    assert f"{bad} {reason}" in str(failure.value)
    assert lake_files(lake) == before
    assert BatchJob.objects.filter(state=BatchJob.State.FAILED).count() == 1


@pytest.mark.django_db
def test_a_record_with_an_impossible_time_fails_naming_it_and_nothing_of_the_file_is_visible(
    lake: Path, tmp_path: Path
) -> None:
    records = [
        trade(T0 + timedelta(seconds=i), 6000.25, bid=6000.0, ask=6000.25, size=1, at_ask=True) for i in range(3)
    ]
    path = write_scid(tmp_path / "ESZ25_FUT_CME.scid", records)
    data = bytearray(path.read_bytes())
    data[56 + 2 * 40 : 56 + 2 * 40 + 8] = (5).to_bytes(8, "little")  # record 2's time
    path.write_bytes(bytes(data))

    with pytest.raises(CommandError) as failure:
        run(str(path))

    assert f"{path} (byte 136, record 2): record time 5 is not a time between 1970 and 2200" in str(failure.value)
    assert lake_files(lake) == []


@pytest.mark.django_db
def test_a_growing_file_imports_only_the_new_records_and_the_same_file_twice_imports_once(
    lake: Path, tmp_path: Path
) -> None:
    path = tick_file(tmp_path / "ESZ25_FUT_CME.scid")
    run(str(path))
    assert len(lake_rows(lake, "tick_data")) == 4

    output = run(str(path))
    assert "nothing new since the last import (5 records)" in output
    assert len(lake_rows(lake, "tick_data")) == 4

    later = T0 + timedelta(minutes=5)
    append_scid(path, [trade(later, 6001.0, bid=6000.75, ask=6001.0, size=7, at_ask=True)])
    run(str(path))

    rows = lake_rows(lake, "tick_data", "ts_event, price, size, seq")
    assert len(rows) == 5
    assert rows[-1] == (later, 6001.0, 7, 5)
    second = BatchJob.objects.order_by("-pk").first()
    assert second is not None
    assert second.progress_total == 1
    assert SourceCheckpoint.objects.get().records == 6


@pytest.mark.django_db
def test_a_rewritten_file_is_refused_until_imported_in_full(lake: Path, tmp_path: Path) -> None:
    path = tick_file(tmp_path / "ESZ25_FUT_CME.scid")
    run(str(path))
    data = bytearray(path.read_bytes())
    data[56 + 4 * 40 : 56 + 4 * 40 + 8] = (int.from_bytes(data[56 + 4 * 40 : 56 + 4 * 40 + 8], "little") + 7).to_bytes(
        8, "little"
    )
    path.write_bytes(bytes(data) + Rec(T0 + timedelta(minutes=1), 0.0, 1, 1, 1, 1, 1, 0, 1).pack())

    with pytest.raises(CommandError) as failure:
        run(str(path))
    assert f"{path} (byte 216, record 4): the record last imported has another time now" in str(failure.value)

    run(str(path), "--full")
    assert len(lake_rows(lake, "tick_data")) == 5  # rewritten in place: the same five ids, plus one


@pytest.mark.django_db
def test_days_are_units_and_a_date_range_picks_days(lake: Path, tmp_path: Path) -> None:
    days = [T0 + timedelta(days=offset) for offset in range(3)]
    path = write_scid(
        tmp_path / "ESH26_FUT_CME.scid",
        [trade(day, 6000.0 + i, bid=6000.0, ask=6000.25, size=1, at_ask=True) for i, day in enumerate(days)],
    )

    job = job_submit(kind="import_scid", params={"file": str(path), "from": "2025-12-20"}, enqueue=False)
    job = job_run_here(job_id=job.pk)

    assert [unit.label.split(" ")[1] for unit in job.units.order_by("index")] == ["2025-12-20", "2025-12-21"]
    assert lake_rows(lake, "tick_data", "date::varchar, price") == [("2025-12-20", 6001.0), ("2025-12-21", 6002.0)]
    # A ranged import leaves the file's checkpoint alone: a whole import later reads it all.
    assert not SourceCheckpoint.objects.exists()
    run(str(path))
    assert len(lake_rows(lake, "tick_data")) == 3


@pytest.mark.django_db
def test_a_range_without_data_warns(lake: Path, tmp_path: Path) -> None:
    path = tick_file(tmp_path / "ESZ25_FUT_CME.scid")
    output = run(str(path), "--from", "2026-01-05", "--to", "2026-01-06")
    assert f"{path}: no records from 2026-01-05 to 2026-01-06" in output
    assert lake_files(lake) == []


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("ESZ25_FUT_CME.scid", "ESZ25"),
        ("ESZ25-CME.scid", "ESZ25"),
        ("ESZ5.CME.scid", "ESZ25"),
        ("ESZ5.scid", "ESZ25"),
        ("MESH26_FUT_CME.scid", "MESH26"),
        ("NQH6-CME.scid", "NQH26"),
    ],
)
@pytest.mark.django_db
def test_the_contract_comes_from_every_sierra_file_name_form(
    lake: Path, tmp_path: Path, name: str, symbol: str
) -> None:
    path = write_scid(tmp_path / name, [trade(T0, 6000.25, bid=6000.0, ask=6000.25, size=1, at_ask=True)])
    run(str(path))
    assert lake_rows(lake, "tick_data", "symbol") == [(symbol,)]


@pytest.mark.django_db
def test_a_continuous_file_is_stitched_by_the_roll_schedule_in_roll_week(lake: Path, tmp_path: Path) -> None:
    """ESZ25 rolls to ESH26 at the Globex open (18:00 New York) on Wednesday 2025-12-10, the eve
    of the roll date (Thursday 2025-12-11, eight days before the 19th's expiry)."""
    before = datetime(2025, 12, 10, 22, 59, tzinfo=UTC)  # 17:59 New York
    after = datetime(2025, 12, 10, 23, 0, tzinfo=UTC)  # 18:00 New York
    path = write_scid(
        tmp_path / "ES_FUT_CME[CB].scid",
        [trade(before, 6000.0, bid=6000.0, ask=6000.25, size=1, at_ask=True),
         trade(after, 6050.0, bid=6050.0, ask=6050.25, size=1, at_ask=False)],
    )  # fmt: skip

    run(str(path))

    assert lake_rows(lake, "tick_data", "symbol, price, side") == [("ESZ25", 6000.0, 1), ("ESH26", 6050.0, 2)]


@pytest.mark.django_db
def test_a_name_that_maps_to_no_contract_fails_naming_the_file(lake: Path, tmp_path: Path) -> None:
    path = write_scid(tmp_path / "my chart.scid", [trade(T0, 1.0, bid=1.0, ask=1.25, size=1, at_ask=True)])
    with pytest.raises(CommandError) as failure:
        run(str(path))
    assert str(path) in str(failure.value)
    assert "pass --symbol" in str(failure.value)
    run(str(path), "--symbol", "ESZ25")
    assert lake_rows(lake, "tick_data", "symbol") == [("ESZ25",)]


@pytest.mark.django_db
def test_imported_trades_keep_whole_ids_through_compaction_and_a_full_rerun_imports_none_twice(
    lake: Path, tmp_path: Path
) -> None:
    path = tick_file(tmp_path / "ESZ25_FUT_CME.scid")
    other = write_scid(
        tmp_path / "ESZ25-CME.scid",
        [trade(T0 + timedelta(minutes=1), 6002.0, bid=6001.75, ask=6002.0, size=9, at_ask=True)],
    )
    run(str(path))
    run(str(other))
    partition = lake / "tick_data" / "date=2025-12-19" / "symbol=ESZ25"
    assert len(list(partition.glob("*.parquet"))) == 2
    before = lake_rows(lake, "tick_data", "seq, stream_id")

    partition_compact(lake=lake, partition=partition)
    assert [file.name.startswith("compacted-") for file in partition.glob("*.parquet")] == [True]
    assert lake_rows(lake, "tick_data", "seq, stream_id") == before

    output = run(str(path), "--full")  # its rows now live in the compacted file, not under its own name

    assert "done" in output
    rows = lake_rows(lake, "tick_data", "seq, stream_id")
    assert rows == before
    source = before[0][1].split(":")[1]
    assert [stream_id for _, stream_id in rows] == [
        *(f"sierra:{source}:{index}" for index in (0, 2, 3, 4)),
        f"sierra:{rows[-1][1].split(':')[1]}:0",
    ]
    # The lake's readers see the same whole ids: the REST selector over the DuckDB view.
    trades = lake_trades(symbol="ESZ25", start=T0, end=T0 + timedelta(minutes=2), lake=lake)
    assert sorted(trade.id for trade in trades) == sorted(stream_id for _, stream_id in rows)
