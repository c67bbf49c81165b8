"""The one-minute bars the lake keeps beside its trades (apps/storage/minute_bars.py): charts over
long ranges read them, and they must give exactly the bars the trades give, whatever the interval,
the session, the range's edges, a contract roll or a late file.

The days: Wednesday 9 to Friday 11 December 2026, the CME roll week of ESZ26 into ESH27 (both
trade), with the 17:00 New York break, the 18:00 reopen and the RTH open and close inside; the
clock stands on Monday 14 December, so those days are closed."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import time_machine
from django.core.management import call_command
from pytest_django import Settings

from apps.core.redis import get_redis
from apps.core.sessions import SessionKind
from apps.marketdata.events import Trade
from apps.storage.compaction import lake_compact
from apps.storage.flush import streams_flush
from apps.storage.lake_bars import LakeBar, lake_bars, lake_bars_cache_clear
from apps.storage.minute_bars import day_bars, minute_bars_rebuild, stale_partitions
from apps.storage.models import RetentionPolicy
from apps.storage.retention import purge_plan
from tests.factories import trade, write

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 14, 12, 0, tzinfo=UTC)
DAYS = (date(2026, 12, 9), date(2026, 12, 10), date(2026, 12, 11))
SYMBOLS = ("ESZ26", "ESH27")


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def roll_week_trades(symbol: str, seed: int) -> list[Trade]:
    """About 4,000 trades a day, a few per minute, some sharing a nanosecond with the one before."""
    rng = random.Random(seed)  # noqa: S311 - a seeded market, not a secret
    start = datetime(2026, 12, 9, tzinfo=UTC)
    trades, seconds, price = [], 0.0, 6800.0
    while seconds < 3 * 86_400:
        price = round(price + rng.choice((-0.25, 0, 0.25)), 2)
        same = trades and rng.random() < 0.1
        trades.append(trade(seconds, price, size=rng.randint(1, 9), symbol=symbol, base=start))
        if same:
            trades[-1] = trade(seconds, round(price + 0.5, 2), size=1, symbol=symbol, base=start)
            trades.insert(-1, trade(seconds, price, size=2, symbol=symbol, base=start))
        seconds += rng.uniform(1, 40)
    return trades


@pytest.fixture
def roll_week(lake: Path) -> Path:
    for number, symbol in enumerate(SYMBOLS):
        trades = roll_week_trades(symbol, seed=number)
        write([trades[start : start + 2_000] for start in range(0, len(trades), 2_000)])
    with time_machine.travel(NOW):
        streams_flush(client=get_redis(), lake=lake)
    return lake


QUERIES = [
    # (interval, session, start, end)
    ("1m", None, at("2026-12-09"), at("2026-12-12")),
    ("5m", None, at("2026-12-09T13:02:30"), at("2026-12-11T21:07:45.5")),  # edges inside minutes
    ("1h", None, at("2026-12-09"), at("2026-12-12")),
    ("1d", None, at("2026-12-09"), at("2026-12-12")),
    ("1m", SessionKind.RTH, at("2026-12-09"), at("2026-12-12")),
    ("30m", SessionKind.RTH, at("2026-12-09T14:00"), at("2026-12-11T20:59:59")),
    ("1h", SessionKind.ETH, at("2026-12-09"), at("2026-12-12")),
    ("4h", SessionKind.ETH, at("2026-12-09"), at("2026-12-12")),
    ("1d", SessionKind.ETH, at("2026-12-09"), at("2026-12-12")),
    ("1d", SessionKind.RTH, at("2026-12-09"), at("2026-12-12")),
    ("30s", None, at("2026-12-10T21:55"), at("2026-12-10T23:05")),  # below a minute: trades only
]


def every_answer(lake: Path) -> dict[tuple[object, ...], list[LakeBar]]:
    answers = {}
    with time_machine.travel(NOW):
        for symbol in SYMBOLS:
            for interval, session, start, end in QUERIES:
                lake_bars_cache_clear()
                answers[(symbol, interval, session, start)] = lake_bars(
                    symbol=symbol, start=start, end=end, interval=interval, session=session, lake=lake
                )
    return answers


def test_bars_from_the_minute_table_equal_bars_from_the_trades_across_the_roll_and_sessions(roll_week: Path) -> None:
    from_trades = every_answer(roll_week)
    assert all(day_bars(roll_week, day, symbol).path.is_file() is False for day in DAYS for symbol in SYMBOLS)
    assert minute_bars_rebuild(lake=roll_week, before=NOW.date()) == len(DAYS) * len(SYMBOLS)
    assert all(day_bars(roll_week, day, symbol).current for day in DAYS for symbol in SYMBOLS)
    from_minutes = every_answer(roll_week)
    assert from_minutes == from_trades
    daily = from_trades[("ESZ26", "1d", SessionKind.ETH, at("2026-12-09"))]
    assert [bar.start.strftime("%m-%d %H:%M") for bar in daily] == [
        "12-08 23:00",
        "12-09 23:00",
        "12-10 23:00",
        "12-13 23:00",
    ]
    assert sum(bar.trades for bar in from_trades[("ESZ26", "1m", None, at("2026-12-09"))]) > 10_000


def test_ties_at_one_nanosecond_open_low_and_close_high_on_both_paths(lake: Path) -> None:
    """Tuesday 8 December 2026: three trades in one nanosecond open the minute, two close it."""
    base = at("2026-12-08T15:00:00")
    write([[trade(0, 6801.0, base=base), trade(0, 6800.0, base=base), trade(0, 6802.0, base=base),
            trade(59.5, 6805.0, base=base), trade(59.5, 6804.0, base=base)]])  # fmt: skip
    with time_machine.travel(NOW):
        streams_flush(client=get_redis(), lake=lake)
        lake_bars_cache_clear()
        before = lake_bars(symbol="ESZ26", start=base, end=base + timedelta(minutes=1), interval="1m", lake=lake)
        minute_bars_rebuild(lake=lake, before=NOW.date())
        lake_bars_cache_clear()
        after = lake_bars(symbol="ESZ26", start=base, end=base + timedelta(minutes=1), interval="1m", lake=lake)
    assert [(bar.open, bar.high, bar.low, bar.close, bar.trades) for bar in before] == [
        (6800.0, 6805.0, 6800.0, 6805.0, 5)
    ]
    assert after == before


def test_a_late_file_makes_the_days_bars_stale_and_the_answer_still_counts_it(roll_week: Path) -> None:
    minute_bars_rebuild(lake=roll_week, before=NOW.date())
    # A late flush of one more trade into Thursday 10 December (its bars were built already).
    late = at("2026-12-10T15:00:30")
    write([[trade(0, 9999.0, size=7, base=late)]])
    with time_machine.travel(NOW):
        streams_flush(client=get_redis(), lake=roll_week)
    assert not day_bars(roll_week, date(2026, 12, 10), "ESZ26").current
    assert stale_partitions(roll_week, before=NOW.date()) == [(date(2026, 12, 10), "ESZ26")]
    with time_machine.travel(NOW):
        lake_bars_cache_clear()
        bars = lake_bars(symbol="ESZ26", start=late, end=late + timedelta(minutes=5), interval="1h", lake=roll_week)
    assert bars[0].high == 9999.0, "the late trade is in the answer before the bars are rebuilt"
    rebuilt_answer = every_answer(roll_week)
    minute_bars_rebuild(lake=roll_week, before=NOW.date())
    assert stale_partitions(roll_week, before=NOW.date()) == []
    assert every_answer(roll_week) == rebuilt_answer


def test_compaction_builds_the_bars_of_closed_days_only(roll_week: Path) -> None:
    """Compaction on Friday 11 December 2026 at noon: the 9th and 10th are closed, the 11th is today."""
    with time_machine.travel(at("2026-12-11T12:00")):
        lake_compact(lake=roll_week, today=date(2026, 12, 11))
    assert [day_bars(roll_week, day, "ESZ26").current for day in DAYS] == [True, True, False]
    table = pq.read_table(day_bars(roll_week, date(2026, 12, 9), "ESZ26").path)
    assert table.schema.names == ["minute_ns", "open", "high", "low", "close", "volume", "trades"]
    assert all(ns % 60_000_000_000 == 0 for ns in table["minute_ns"].to_pylist()), "whole minutes"


def test_purge_takes_the_bars_with_the_trades(roll_week: Path) -> None:
    minute_bars_rebuild(lake=roll_week, before=NOW.date())
    RetentionPolicy.objects.update_or_create(
        data_type="trades", defaults={"enabled": True, "cold_retention_days": None}
    )
    plan = purge_plan(client=get_redis(), lake=roll_week, data_type="trades", before=date(2026, 12, 10), now=NOW)
    planned = sorted(item.path for item in plan.files)
    assert any(path.startswith("bars_1m/date=2026-12-09/symbol=ESZ26/") for path in planned)
    assert not any("date=2026-12-10" in path for path in planned)


def test_lake_bars_command_lists_then_builds_the_stale_days(
    roll_week: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(NOW):
        call_command("lake_bars", "--check")
        assert "6 day(s) without current one-minute bars before 2026-12-14" in capsys.readouterr().out
        call_command("lake_bars", "--before", "2026-12-10")
        assert "built the one-minute bars of 2 day(s) before 2026-12-10" in capsys.readouterr().out
        call_command("lake_bars")
        assert "of 4 day(s)" in capsys.readouterr().out
    assert stale_partitions(roll_week, before=NOW.date()) == []
