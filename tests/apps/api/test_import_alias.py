"""`import_ticks --symbol ES` stores each row under the contract in force at its time by the roll
schedule, so `/api/bars?symbol=ES` (which resolves the alias at its range's end) sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.storage.connection import lake_connection
from tests.apps.api.conftest import Caller

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

# ESZ26's roll day is Thursday 2026-12-10 (eight days before the third Friday, 2026-12-18): ESH27
# leads from the Globex open the evening before, Wednesday 2026-12-09 18:00 New York = 23:00 UTC.
ROLL = datetime(2026, 12, 9, 23, 0, tzinfo=UTC)
BEFORE = ROLL - timedelta(hours=1)  # 22:00 UTC, still ESZ26
AFTER = ROLL + timedelta(hours=16)  # 2026-12-10 15:00 UTC, ESH27


def test_the_alias_becomes_the_contract_in_force_at_each_rows_time(reader: Caller, lake: Path, tmp_path: Path) -> None:
    source = tmp_path / "es.csv"
    source.write_text(
        "ts,price,size\n"
        f"{BEFORE.isoformat()},6800.25,2\n"
        f"{(ROLL - timedelta(minutes=1)).isoformat()},6801.0,1\n"  # the last minute of ESZ26's lead
        f"{ROLL.isoformat()},6850.5,3\n"  # the first trade of ESH27's lead
        f"{AFTER.isoformat()},6852.75,4\n"
    )
    out = StringIO()
    call_command("import_ticks", str(source), "--symbol", "ES", stdout=out)
    assert "ESH27, ESZ26" in out.getvalue()
    stored = lake_connection(lake).execute("select symbol, size from tick_data order by ts_event").fetchall()
    assert stored == [("ESZ26", 2), ("ESZ26", 1), ("ESH27", 3), ("ESH27", 4)]

    before = reader.get(
        "/api/bars", symbol="ES", interval="1h", start=(BEFORE - timedelta(hours=1)).isoformat(), end=BEFORE.isoformat()
    )
    assert before.status_code == 200
    assert before.json()["symbol"] == "ESZ26"
    assert [(bar["open"], bar["volume"]) for bar in before.json()["bars"]] == [(6800.25, 2)]

    day_before_roll = reader.get(
        "/api/bars",
        symbol="ES",
        interval="1h",
        start=(BEFORE - timedelta(hours=1)).isoformat(),
        end=(ROLL - timedelta(seconds=1)).isoformat(),
    ).json()
    assert [(bar["open"], bar["close"], bar["volume"]) for bar in day_before_roll["bars"]] == [(6800.25, 6801.0, 3)]

    after = reader.get("/api/bars", symbol="ES", interval="1d", start=ROLL.isoformat(), end=AFTER.isoformat()).json()
    assert after["symbol"] == "ESH27"
    assert sum(bar["volume"] for bar in after["bars"]) == 7


def test_a_symbol_column_holding_the_alias_or_a_feed_form_is_resolved_per_row(lake: Path, tmp_path: Path) -> None:
    source = tmp_path / "mixed.csv"
    source.write_text(
        "ts,symbol,price,size\n"
        f"{BEFORE.isoformat()},es,6800.25,1\n"
        f"{AFTER.isoformat()},ES,6852.75,1\n"
        f"{AFTER.isoformat()},/NQH27:XCME,25000.0,1\n"
    )
    call_command("import_ticks", str(source), stdout=StringIO())
    stored = lake_connection(lake).execute("select symbol from tick_data order by ts_event, symbol").fetchall()
    assert stored == [("ESZ26",), ("ESH27",), ("NQH27",)]
