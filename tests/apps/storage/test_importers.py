"""Importing external tick and depth files: good files land in the lake's layout, bad ones are
refused with file, row and column named, and leave the lake untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from apps.core.positions import StreamPosition
from apps.storage.connection import lake_connection
from apps.storage.trade_queries import lake_trades

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


@pytest.fixture
def lake(tmp_path: Path, settings: pytest.FixtureRequest) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"  # type: ignore[attr-defined]
    return tmp_path / "lake"


def files_in(lake: Path) -> list[str]:
    return sorted(str(path.relative_to(lake)) for path in lake.rglob("*")) if lake.exists() else []


def test_a_csv_of_ticks_lands_in_date_and_symbol_partitions(lake: Path, tmp_path: Path) -> None:
    source = tmp_path / "ticks.csv"
    source.write_text(
        "ts,symbol,price,size,side\n"
        "2026-11-24T14:30:00Z,ESZ26,6000.25,2,B\n"
        "2026-11-24T14:30:01.5Z,ESZ26,6000.50,1,S\n"
        "1795650000000,NQZ26,21000.0,3,\n"  # epoch milliseconds
    )
    call_command("import_ticks", str(source))
    assert [path.rsplit("/", 1)[0] for path in files_in(lake) if path.endswith(".parquet")] == [
        "tick_data/date=2026-11-24/symbol=ESZ26",
        "tick_data/date=2026-11-25/symbol=NQZ26",
    ]
    trades = lake_trades(symbol="ESZ26", start=T0, end=T0 + timedelta(minutes=1), lake=lake)
    assert [(item.trade.price, item.trade.size, int(item.trade.side)) for item in trades] == [
        (6000.25, 2, 1),
        (6000.5, 1, 2),
    ]

    files = files_in(lake)
    call_command("import_ticks", str(source))  # the same file again adds nothing
    assert lake_connection(lake).execute("select count(*) from tick_data").fetchone() == (3,)
    assert files_in(lake) == files


# Five trades, two of them identical (two real prints of one size at one nanosecond and price).
TRADES = [
    (datetime(2026, 11, 24, 14, 30, 0, 125_000, tzinfo=UTC), 6000.25, 2, "B", 7),
    (datetime(2026, 11, 24, 14, 30, 0, 125_000, tzinfo=UTC), 6000.25, 2, "B", 7),
    (datetime(2026, 11, 24, 14, 30, 1, tzinfo=UTC), 6000.5, 1, "S", 8),
    (datetime(2026, 11, 24, 23, 59, 59, 999_000, tzinfo=UTC), 6001.0, 3, "", 9),
    (datetime(2026, 11, 25, 0, 0, 0, 1_000, tzinfo=UTC), 6001.25, 4, "S", 10),
]


def _epoch_ns(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def test_the_same_trades_from_csv_epoch_ns_and_epoch_ms_files_are_stored_once(lake: Path, tmp_path: Path) -> None:
    iso = tmp_path / "iso.csv"
    iso.write_text(
        "ts,price,size,side,seq\n" + "".join(f"{t.isoformat()},{p},{s},{d},{q}\n" for t, p, s, d, q in TRADES)
    )
    nanos = tmp_path / "nanos.csv"
    nanos.write_text(
        "seq,side,size,price,ts\n" + "".join(f"{q},{d},{s},{p:.2f},{_epoch_ns(t)}\n" for t, p, s, d, q in TRADES)
    )
    millis = tmp_path / "millis.parquet"
    pq.write_table(
        pa.table(
            {
                "ts": [_epoch_ns(t) // 1_000_000 for t, *_ in TRADES],
                "price": [p for _, p, *_ in TRADES],
                "size": [s for _, _, s, _, _ in TRADES],
                "side": [d.lower() or "0" for *_, d, _ in TRADES],
                "seq": [q for *_, q in TRADES],
            }
        ),
        millis,
    )
    outputs = []
    for source in (iso, nanos, millis):
        out = StringIO()
        call_command("import_ticks", str(source), "--symbol", "ESZ26", stdout=out)
        outputs.append(out.getvalue().strip())
    assert outputs[0] == f"{iso}: 5 new trades; 0 already in the lake (2 partition file(s), ESZ26)"
    assert outputs[1:] == [
        f"{nanos}: 0 new trades; 5 already in the lake",
        f"{millis}: 0 new trades; 5 already in the lake",
    ]
    stored = lake_connection(lake).execute("select price, size, stream_id from tick_data order by ts_event").fetchall()
    assert [(price, size) for price, size, _ in stored] == [(p, s) for _, p, s, _, _ in TRADES]
    assert len({stream_id for *_, stream_id in stored}) == 5, "the two identical prints stay two trades"
    for *_, stream_id in stored:
        assert StreamPosition.parse(stream_id, ts_event=0).imported, stream_id


def test_a_file_with_some_trades_already_stored_adds_only_the_others(lake: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text("ts,price,size,seq\n2026-11-24T14:30:00Z,6000.25,2,1\n2026-11-24T14:30:01Z,6000.5,1,2\n")
    call_command("import_ticks", str(first), "--symbol", "ESZ26", stdout=StringIO())
    second = tmp_path / "second.csv"
    second.write_text(
        "ts,price,size,seq\n1795530601000,6000.5,1,2\n2026-11-24T14:30:02Z,6000.75,5,3\n"  # the 2nd trade again
    )
    out = StringIO()
    call_command("import_ticks", str(second), "--symbol", "ESZ26", stdout=out)
    assert "1 new trades; 1 already in the lake" in out.getvalue()
    rows = lake_connection(lake).execute("select price from tick_data order by ts_event").fetchall()
    assert rows == [(6000.25,), (6000.5,), (6000.75,)]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2026-11-24T14:30:00Z,6000.25,abc\n", "row 3, column 'size': 'abc'"),
        ("2026-11-24T14:30:00Z,-1,1\n", "row 3, column 'price': '-1' must be a positive number"),
        ("yesterday,6000.25,1\n", "row 3, column 'ts'"),
        ("2026-11-24T14:30:00,6000.25,1\n", "row 3, column 'ts': '2026-11-24T14:30:00' has no time zone"),
        # Out of the int64 nanosecond range the lake stores: one line, never a traceback.
        ("999999999999999999999999,6000.25,1\n", "row 3, column 'ts': '999999999999999999999999' is out of range"),
        ("-999999999999999999999999,6000.25,1\n", "column 'ts': '-999999999999999999999999' is out of range"),
        ("9999-12-31T00:00:00Z,6000.25,1\n", "row 3, column 'ts': '9999-12-31T00:00:00Z' is out of range"),
    ],
)
def test_a_bad_row_is_named_and_the_lake_stays_untouched(lake: Path, tmp_path: Path, rows: str, message: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("ts,price,size\n2026-11-24T14:29:00Z,6000.0,1\n" + rows)
    with pytest.raises(CommandError) as caught:
        call_command("import_ticks", str(source), "--symbol", "ESZ26")
    assert str(source) in str(caught.value)
    assert message in str(caught.value)
    assert "nothing from this file was written" in str(caught.value)
    assert [path for path in files_in(lake) if path.endswith(".parquet") or ".tmp-" in path] == []


def test_a_missing_symbol_is_named(lake: Path, tmp_path: Path) -> None:
    source = tmp_path / "nosymbol.csv"
    source.write_text("ts,price,size\n2026-11-24T14:29:00Z,6000.0,1\n")
    with pytest.raises(CommandError, match="row 2, column 'symbol': missing"):
        call_command("import_ticks", str(source))


def test_parquet_depth_imports_as_operations(lake: Path, tmp_path: Path) -> None:
    source = tmp_path / "depth.parquet"
    pq.write_table(
        pa.table(
            {
                "ts": [T0, T0, T0 + timedelta(seconds=1)],
                "op": ["clear", "set", "set"],
                "side": ["", "bid", "ask"],
                "price": [0.0, 6000.0, 6000.25],
                "size": [0, 5, 7],
            }
        ),
        source,
    )
    call_command("import_depth", str(source), "--symbol", "ESZ26")
    rows = lake_connection(lake).execute("select op, side, price, size from depth_data order by stream_id").fetchall()
    assert rows == [(0, 0, 0.0, 0), (1, 1, 6000.0, 5), (1, 2, 6000.25, 7)]
