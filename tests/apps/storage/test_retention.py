"""Retention policies and the purge: the dry run changes nothing, a real run removes exactly the
plan, and every run leaves an audit row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.events import Quote, Side, Trade
from apps.storage.flush import streams_flush
from apps.storage.models import PurgeRun, RetentionPolicy
from tests.factories import write

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

# Purges run on Tuesday 2026-11-24, 15:00 UTC: 30, 20, 12 and 2 days before are 2026-10-25,
# 2026-11-04, 2026-11-12 and 2026-11-22.
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _tuesday() -> Iterator[None]:
    with time_machine.travel(NOW):
        yield


def days_ago(days: float) -> int:
    return int((NOW - timedelta(days=days)).timestamp() * 1_000_000_000)


def lake_files(lake: Path) -> list[str]:
    return sorted(str(path.relative_to(lake)) for path in lake.rglob("*.parquet"))


@pytest.fixture
def lake(tmp_path: Path, settings: pytest.FixtureRequest) -> Path:
    settings.LAKE_DIR = tmp_path  # type: ignore[attr-defined]
    # 30, 12 and 2 days ago, flushed (so acknowledged by the lake's group)...
    write(
        [
            [Trade("ESZ26", days_ago(days), days_ago(days), 6000.0, 1, Side.BUY, "test", int(days))]
            for days in (30, 12, 2)
        ]
    )
    write([[Quote("ESZ26", days_ago(30), days_ago(30), 6000.0, 1, 6000.25, 1, "test")]])
    streams_flush(client=get_redis(), lake=tmp_path)
    # ...and one old trade written later that the lake has not taken yet.
    write([[Trade("ESZ26", days_ago(1), days_ago(1), 6001.0, 1, Side.BUY, "test", 99)]])
    RetentionPolicy.objects.filter(data_type="trades").update(cold_retention_days=10, hot_window_minutes=60)
    return tmp_path


def test_policies_exist_for_every_data_type() -> None:
    assert sorted(RetentionPolicy.objects.values_list("data_type", flat=True)) == [
        "depth",
        "flow_alert",
        "market_agg",
        "option_trade",
        "quotes",
        "snapshots",
        "trades",
    ]
    assert all(policy.cold_retention_days is None for policy in RetentionPolicy.objects.all()), (
        "the lake keeps everything by default"
    )


def test_a_dry_run_changes_nothing_and_is_audited(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, entries = lake_files(lake), get_redis().xlen(keys.trades("ESZ26"))
    call_command("purge", "--dry-run", "--type", "trades")
    assert lake_files(lake) == files
    assert get_redis().xlen(keys.trades("ESZ26")) == entries
    run = PurgeRun.objects.get()
    assert run.dry_run
    assert run.status == PurgeRun.Status.PLANNED
    assert run.triggered_by == "manage.py purge"
    assert [item["path"].split("/")[1] for item in run.plan["files"]] == [
        "date=2026-10-25",
        "date=2026-11-12",
    ]
    out = capsys.readouterr().out
    assert "dry run: nothing removed" in out
    # The cut-offs it applied, before what they select: 10 days before Tuesday the 24th, and the
    # 60-minute hot window before 15:00 UTC.
    assert (
        "cutoff  trades: lake before 2026-11-14 (policy: 10 days); "
        "Redis before 2026-11-24T14:00:00+00:00 (hot window 60 min)"
    ) in out
    assert run.plan["cutoffs"] == [
        {
            "data_type": "trades",
            "lake_before": "2026-11-14",
            "lake_reason": "policy: 10 days",
            "hot_before": "2026-11-24T14:00:00+00:00",
            "hot_window_minutes": 60,
        }
    ]


def test_a_dry_run_of_every_type_says_which_keep_the_lake_forever(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("purge", "--dry-run")
    out = capsys.readouterr().out
    assert "cutoff  quotes: lake nothing (policy keeps the lake forever)" in out
    assert "cutoff  trades: lake before 2026-11-14 (policy: 10 days)" in out
    call_command("purge", "--dry-run", "--type", "quotes", "--before", "2026-11-01")
    assert "cutoff  quotes: lake before 2026-11-01 (--before)" in capsys.readouterr().out


def test_a_real_purge_removes_exactly_the_plan_and_never_unflushed_entries(lake: Path) -> None:
    before = lake_files(lake)
    call_command("purge", "--type", "trades")
    run = PurgeRun.objects.get()
    planned = [item["path"] for item in run.plan["files"]]
    assert run.status == PurgeRun.Status.DONE
    assert not run.dry_run
    assert lake_files(lake) == [path for path in before if path not in planned]
    assert run.bytes_freed == sum(item["bytes"] for item in run.plan["files"]) > 0
    assert any(path.startswith("quote_data/") for path in lake_files(lake)), "--type trades leaves quotes alone"
    # The three flushed trades are trimmed from Redis; the one the lake has not taken stays.
    remaining = get_redis().xrange(keys.trades("ESZ26"))
    assert len(remaining) == 1
    assert run.result["trimmed"] == {keys.trades("ESZ26"): 3}


def test_before_overrides_the_policy_cutoff(lake: Path) -> None:
    call_command("purge", "--type", "trades", "--before", "2026-11-04")
    assert [path.split("/")[1] for path in lake_files(lake) if path.startswith("tick_data/")] == [
        "date=2026-11-12",
        "date=2026-11-22",
    ]


def test_a_bad_date_is_refused() -> None:
    with pytest.raises(CommandError, match="'yesterday' is not a date"):
        call_command("purge", "--before", "yesterday")
