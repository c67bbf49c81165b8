"""enrich_tick_gex (trades with the GEX levels in force, ASOF JOIN) and export_bars (bars with
GEX columns and volume by aggressor side), as jobs and as a streamed REST answer."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from apps.batch.models import BatchJob
from apps.batch.services import job_run_here, job_submit
from apps.gex.lake_tables import SCHEMA as GEX_SCHEMA
from apps.storage.lake_write import LakeWrite
from tests.apps.api.conftest import make_caller
from tests.apps.batch.conftest import lake_rows
from tests.apps.batch.sierra_writer import trade, write_scid

T0 = datetime(2025, 12, 19, 14, 30, tzinfo=UTC)
S = timedelta(seconds=1)


def gex_snapshot(
    at: datetime, *, zero_gamma: float, call_wall: float, put_wall: float, category: str = "gex_full"
) -> dict[str, Any]:
    return {
        "ts_event": at, "package": "classic", "category": category, "spot": zero_gamma + 10,
        "zero_gamma": zero_gamma, "major_pos_vol": call_wall, "major_pos_oi": call_wall + 25,
        "major_neg_vol": put_wall, "major_neg_oi": put_wall - 25, "sum_gex_vol": 1500.5, "sum_gex_oi": 51.25,
        "source": "gexbot", "units": "", "data": "{}", "stream_id": f"{int(at.timestamp() * 1000)}-0",
    }  # fmt: skip


def write_gex(lake: Path, rows: list[dict[str, Any]]) -> None:
    by_day: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row["ts_event"].date(), []).append(row)
    with LakeWrite(lake=lake) as write:
        for day, day_rows in by_day.items():
            table = pa.Table.from_pylist(day_rows, schema=GEX_SCHEMA)
            write.append(table="gex_snapshots", day=day, symbol="ES_SPX", name="gex-test.parquet", rows=table)


@pytest.fixture
def market(lake: Path, tmp_path: Path) -> Path:
    """ESZ25 trades on Friday 2025-12-19 and ES_SPX snapshots from the evening before."""
    path = write_scid(
        tmp_path / "ESZ25_FUT_CME.scid",
        [
            trade(T0, 6000.0, bid=6000.0, ask=6000.25, size=2, at_ask=True),
            trade(T0 + 10 * S, 6001.0, bid=6000.75, ask=6001.0, size=3, at_ask=True),
            trade(T0 + 20 * S, 6000.5, bid=6000.5, ask=6000.75, size=4, at_ask=False),
            trade(T0 + 70 * S, 6003.0, bid=6003.0, ask=6003.25, size=5, at_ask=False),
        ],
    )
    call_command("import_scid", str(path), "--here", stdout=io.StringIO())
    write_gex(
        lake,
        [
            gex_snapshot(
                datetime(2025, 12, 18, 21, 0, tzinfo=UTC), zero_gamma=5980.0, call_wall=6050.0, put_wall=5900.0
            ),
            gex_snapshot(T0 + 5 * S, zero_gamma=5990.0, call_wall=6025.0, put_wall=5950.0),
            gex_snapshot(
                T0 + 7 * S, zero_gamma=1.0, call_wall=2.0, put_wall=3.0, category="gex_zero"
            ),  # another category
            gex_snapshot(T0 + 60 * S, zero_gamma=5995.0, call_wall=6030.0, put_wall=5960.0),
        ],
    )
    return lake


@pytest.mark.django_db
def test_every_trade_gets_the_levels_in_force_at_its_time(market: Path) -> None:
    job = job_submit(
        kind="enrich_tick_gex", params={"symbol": "ESZ25", "from": "2025-12-19", "to": "2025-12-19"}, enqueue=False
    )
    job = job_run_here(job_id=job.pk)
    assert job.state == BatchJob.State.DONE, job.error

    rows = lake_rows(
        market, "enriched_ticks",
        "symbol, ts_event, price, gex_ts, zero_gamma, dist_zero_gamma, major_pos_vol, dist_major_pos_vol, "
        "major_neg_vol, dist_major_neg_vol, net_gex_vol, gex_ticker",
    )  # fmt: skip
    evening = datetime(2025, 12, 18, 21, 0, tzinfo=UTC)
    assert rows == [
        ("ESZ25", T0, 6000.0, evening, 5980.0, 20.0, 6050.0, -50.0, 5900.0, 100.0, 1500.5, "ES_SPX"),
        ("ESZ25", T0 + 10 * S, 6001.0, T0 + 5 * S, 5990.0, 11.0, 6025.0, -24.0, 5950.0, 51.0, 1500.5, "ES_SPX"),
        ("ESZ25", T0 + 20 * S, 6000.5, T0 + 5 * S, 5990.0, 10.5, 6025.0, -24.5, 5950.0, 50.5, 1500.5, "ES_SPX"),
        ("ESZ25", T0 + 70 * S, 6003.0, T0 + 60 * S, 5995.0, 8.0, 6030.0, -27.0, 5960.0, 43.0, 1500.5, "ES_SPX"),
    ]

    again = job_run_here(job_id=job_submit(kind="enrich_tick_gex", params=dict(job.params), enqueue=False).pk)
    assert again.state == BatchJob.State.DONE
    assert len(lake_rows(market, "enriched_ticks")) == 4  # the day's file replaced, not added to


@pytest.mark.django_db
def test_enrichment_of_a_range_without_trades_warns(market: Path) -> None:
    job = job_submit(
        kind="enrich_tick_gex", params={"symbol": "ESZ25", "from": "2025-12-22", "to": "2025-12-23"}, enqueue=False
    )
    job = job_run_here(job_id=job.pk)
    assert job.state == BatchJob.State.DONE
    assert job.report["warnings"] == ["no trades of ESZ25 from 2025-12-22 to 2025-12-23"]


@pytest.mark.django_db
def test_a_root_means_each_days_lead_contract_by_the_roll(market: Path) -> None:
    """Friday 2025-12-19 is ESZ25's expiry day, after the roll (Thursday 2025-12-11): ES means ESH26."""
    job = job_run_here(
        job_id=job_submit(kind="enrich_tick_gex", params={"symbol": "ES", "from": "2025-12-19", "to": "2025-12-19"},
                          enqueue=False).pk
    )  # fmt: skip
    assert job.report["warnings"] == ["no trades of ES from 2025-12-19 to 2025-12-19"]


EXPECTED_BARS = [
    # bar_start, open, high, low, close, volume, buy, sell, unknown, trades, zero_gamma (at the bar's close)
    [T0, 6000.0, 6001.0, 6000.0, 6000.5, 9, 5, 4, 0, 3, 5990.0],
    [T0 + 60 * S, 6003.0, 6003.0, 6003.0, 6003.0, 5, 0, 5, 0, 1, 5995.0],
]
COLUMNS = [
    "bar_start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "buy_volume",
    "sell_volume",
    "unknown_side_volume",
    "trades",
    "zero_gamma",
]


@pytest.mark.django_db
def test_export_bars_job_writes_parquet_and_csv(market: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "jobs", "run", "export_bars", "--param", "symbol=ESZ25", "--param", "from=2025-12-19", "--param", "to=2025-12-19",
        "--param", f"out={tmp_path / 'bars.parquet'}", "--here", stdout=out,
    )  # fmt: skip
    table = pq.read_table(tmp_path / "bars.parquet").select(COLUMNS)
    assert [list(row.values()) for row in table.to_pylist()] == EXPECTED_BARS

    call_command(
        "jobs", "run", "export_bars", "--param", "symbol=ESZ25", "--param", "from=2025-12-19", "--param", "to=2025-12-19",
        "--param", "format=csv", "--param", f"out={tmp_path / 'bars.txt'}", "--here", stdout=out,
    )  # fmt: skip
    rows = list(csv.DictReader((tmp_path / "bars.txt").open()))
    assert [row["close"] for row in rows] == ["6000.5", "6003"]
    assert [row["buy_volume"] for row in rows] == ["5", "0"]
    assert not list(tmp_path.glob(".bars*"))  # no temporary left


@pytest.mark.django_db
def test_export_bars_refuses_bad_parameters(market: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="interval='7m' is not one of"):
        call_command("jobs", "run", "export_bars", "--param", "symbol=ESZ25", "--param", "from=2025-12-19",
                     "--param", "to=2025-12-19", "--param", "interval=7m", "--param", f"out={tmp_path / 'b.csv'}")  # fmt: skip
    with pytest.raises(CommandError, match="does not exist"):
        call_command("jobs", "run", "export_bars", "--param", "symbol=ESZ25", "--param", "from=2025-12-19",
                     "--param", "to=2025-12-19", "--param", f"out={tmp_path / 'nowhere' / 'b.csv'}")  # fmt: skip


@pytest.mark.django_db
def test_the_export_endpoint_streams_csv_and_parquet(market: Path) -> None:
    caller = make_caller("trader", staff=False)
    params = {"symbol": "ESZ25", "start": "2025-12-19T00:00:00Z", "end": "2025-12-20T00:00:00Z", "interval": "1m"}

    response = caller.get("/api/bars/export", **params)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="bars-ESZ25-1m-20251219T000000-20251220T000000.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["open"], row["close"], row["sell_volume"], row["zero_gamma"]) for row in rows] == [
        ("6000", "6000.5", "4", "5990"), ("6003", "6003", "5", "5995"),
    ]  # fmt: skip

    response = caller.get("/api/bars/export", **params, format="parquet")
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content))).select(COLUMNS)
    assert [list(row.values()) for row in table.to_pylist()] == EXPECTED_BARS

    empty = caller.get("/api/bars/export", symbol="ESZ25", start="2025-12-22T00:00:00Z", end="2025-12-23T00:00:00Z")
    assert empty.status_code == 404
    assert "no trades of ESZ25" in empty.json()["detail"]
    assert caller.get("/api/bars/export", **{**params, "interval": "7m"}).status_code == 422
