"""The one-minute bars the lake keeps beside its trades (apps/storage/minute_bars.py): charts over
long ranges read them, and they must give exactly the bars the trades give, whatever the interval,
the session, the range's edges, a contract roll or a late file.

The days: Wednesday 9 to Friday 11 December 2026, the CME roll week of ESZ26 into ESH27 (both
trade), with the 17:00 New York break, the 18:00 reopen and the RTH open and close inside; the
clock stands on Monday 14 December, so those days are closed. Ranges of more than three days read
the month's roll-up of the day files (bars_1m_months), shorter ones the day files: both are
checked against the bars the trades give, and against bars counted here in Python."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import time_machine
from django.core.management import call_command
from pytest_django import Settings

from apps.core.epoch import from_epoch_ns
from apps.core.redis import get_redis
from apps.core.sessions import SessionKind
from apps.marketdata.events import Trade
from apps.storage.bar_windows import bar_grid
from apps.storage.compaction import lake_compact
from apps.storage.connection import ns_range
from apps.storage.flush import streams_flush
from apps.storage.lake_bars import INTERVAL_NS, LakeBar, lake_bars, lake_bars_cache_clear
from apps.storage.minute_bars import (
    MONTHS_TABLE,
    current_months,
    day_bars,
    days_bars,
    minute_bars_rebuild,
    months_dir,
    stale_months,
    stale_partitions,
)
from apps.storage.models import RetentionPolicy
from apps.storage.retention import purge_execute, purge_plan
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
    # More than three days: the month's roll-up, with partial minutes at ragged edges from trades.
    ("1m", None, at("2026-12-07"), at("2026-12-14")),
    ("5m", None, at("2026-12-07T13:02:30"), at("2026-12-11T21:07:45.5")),
    ("1d", None, at("2026-12-01"), at("2027-01-01")),
    ("15m", SessionKind.RTH, at("2026-12-07"), at("2026-12-14")),
    ("1h", SessionKind.ETH, at("2026-12-06T23:00:00.25"), at("2026-12-11T21:59:59.999")),
    ("1d", SessionKind.ETH, at("2026-12-01"), at("2027-01-01")),
    ("1d", SessionKind.RTH, at("2026-11-30"), at("2026-12-31")),
]


def counted_in_python(
    trades: list[Trade], interval: str, session: SessionKind | None, start: datetime, end: datetime
) -> list[LakeBar]:
    """The bars of `trades` by the hot store's bucketing (BarGrid.bucket) and the tie rule, one
    trade at a time: no DuckDB, no files."""
    width = INTERVAL_NS[interval]
    low, high = ns_range(start, end)
    grid = bar_grid(session=session, width_ns=width, start=start, end=end) if session else None
    buckets: dict[int, list[Trade]] = {}
    for item in trades:
        if not low <= item.ts_event <= high:
            continue
        if grid is None:
            key = item.ts_event // width * width
        else:
            found = grid.bucket(item.ts_event)
            if found is None:
                continue
            key = found[1]
        buckets.setdefault(key, []).append(item)
    bars = []
    for key, held in sorted(buckets.items()):
        prices = [item.price for item in held]
        first = min(held, key=lambda item: (item.ts_event, item.price))
        last = max(held, key=lambda item: (item.ts_event, item.price))
        volume = sum(item.size for item in held)
        bars.append(LakeBar(from_epoch_ns(key), first.price, max(prices), min(prices), last.price, volume, len(held)))
    return bars


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
    for number, symbol in enumerate(SYMBOLS):
        trades = roll_week_trades(symbol, seed=number)
        for interval, session, start, end in QUERIES:
            counted = counted_in_python(trades, interval, session, start, end)
            assert from_trades[(symbol, interval, session, start)] == counted, (symbol, interval, session, start)
    assert all(day_bars(roll_week, day, symbol).path.is_file() is False for day in DAYS for symbol in SYMBOLS)
    assert minute_bars_rebuild(lake=roll_week, before=NOW.date()) == len(DAYS) * len(SYMBOLS)
    assert all(day_bars(roll_week, day, symbol).current for day in DAYS for symbol in SYMBOLS)
    for symbol in SYMBOLS:
        december = days_bars(roll_week, symbol, date(2026, 12, 1), date(2026, 12, 31))
        [month] = current_months(roll_week, symbol, december)
        assert (month.first, month.last, month.path.parent) == (
            DAYS[0],
            DAYS[-1],
            months_dir(roll_week, DAYS[0], symbol),
        )
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
    # The month's roll-up holds the 10th: it is stale as a whole (ESH27's is not).
    assert stale_months(roll_week, before=NOW.date()) == [(date(2026, 12, 1), "ESZ26")]
    assert (
        current_months(roll_week, "ESZ26", days_bars(roll_week, "ESZ26", date(2026, 12, 1), date(2026, 12, 31))) == []
    )
    with time_machine.travel(NOW):
        lake_bars_cache_clear()
        bars = lake_bars(symbol="ESZ26", start=late, end=late + timedelta(minutes=5), interval="1h", lake=roll_week)
        lake_bars_cache_clear()
        week = lake_bars(
            symbol="ESZ26", start=at("2026-12-07"), end=at("2026-12-14"), interval="1d", session=SessionKind.ETH,
            lake=roll_week,
        )  # fmt: skip
    assert bars[0].high == 9999.0, "the late trade is in the answer before the bars are rebuilt"
    assert week[1].high == 9999.0, "and in the week's daily bars, which read the month's roll-up before"
    rebuilt_answer = every_answer(roll_week)
    minute_bars_rebuild(lake=roll_week, before=NOW.date())
    assert stale_partitions(roll_week, before=NOW.date()) == []
    assert stale_months(roll_week, before=NOW.date()) == []
    assert every_answer(roll_week) == rebuilt_answer


def test_a_months_roll_up_answers_for_its_days_without_their_day_files_or_trades(roll_week: Path) -> None:
    """The roll-up is read instead of the day files and trades: with the day files removed and the
    trade files' contents destroyed (names and sizes kept, so the signatures still match), the
    ranges of more than three days with whole-minute edges still give the trades' bars."""
    long_ranges = [
        (interval, session, start, end)
        for interval, session, start, end in QUERIES
        if (end - start).days > 3 and all(moment.second == moment.microsecond == 0 for moment in (start, end))
    ]
    assert len(long_ranges) == 5
    from_trades = every_answer(roll_week)
    minute_bars_rebuild(lake=roll_week, before=NOW.date())
    shutil.rmtree(roll_week / "bars_1m")
    for path in (roll_week / "tick_data").rglob("*.parquet"):
        path.write_bytes(bytes(path.stat().st_size))
    assert len(stale_partitions(roll_week, before=NOW.date())) == len(DAYS) * len(SYMBOLS)
    with time_machine.travel(NOW):
        for symbol in SYMBOLS:
            for interval, session, start, end in long_ranges:
                lake_bars_cache_clear()
                answer = lake_bars(
                    symbol=symbol, start=start, end=end, interval=interval, session=session, lake=roll_week
                )
                assert answer == from_trades[(symbol, interval, session, start)], (symbol, interval, session, start)


def test_trades_on_a_day_between_a_roll_ups_days_make_it_stale(lake: Path) -> None:
    """Monday 30 November (alone in its month: a day file, no roll-up), Tuesday 8 and Thursday 10
    December 2026 traded and were rolled up; trades imported for Wednesday 9 afterwards belong
    inside the December roll-up's span, so it no longer answers, until it is built again."""
    write([[trade(0, 6790.0, base=at("2026-11-30T15:00")), trade(0, 6800.0, base=at("2026-12-08T15:00")),
            trade(0, 6810.0, base=at("2026-12-10T15:00"))]])  # fmt: skip
    with time_machine.travel(NOW):
        streams_flush(client=get_redis(), lake=lake)
    minute_bars_rebuild(lake=lake, before=NOW.date())
    autumn = date(2026, 11, 1), date(2026, 12, 31)
    [month] = current_months(lake, "ESZ26", days_bars(lake, "ESZ26", *autumn))
    assert (month.first, month.last) == (date(2026, 12, 8), date(2026, 12, 10))
    assert day_bars(lake, date(2026, 11, 30), "ESZ26").current

    def daily() -> list[tuple[int, float]]:
        lake_bars_cache_clear()
        bars = lake_bars(symbol="ESZ26", start=at("2026-11-27"), end=at("2026-12-12"), interval="1d", lake=lake)
        return [(bar.start.day, bar.high) for bar in bars]

    with time_machine.travel(NOW):
        assert daily() == [(30, 6790.0), (8, 6800.0), (10, 6810.0)]  # a day file and a roll-up together
    write([[trade(0, 9999.0, base=at("2026-12-09T15:00"))]])
    with time_machine.travel(NOW):
        streams_flush(client=get_redis(), lake=lake)
        assert current_months(lake, "ESZ26", days_bars(lake, "ESZ26", *autumn)) == []
        assert daily() == [(30, 6790.0), (8, 6800.0), (9, 9999.0), (10, 6810.0)]
        minute_bars_rebuild(lake=lake, before=NOW.date())
        [month] = current_months(lake, "ESZ26", days_bars(lake, "ESZ26", *autumn))
        assert [bars.day.day for bars in month.days] == [8, 9, 10]
        assert daily() == [(30, 6790.0), (8, 6800.0), (9, 9999.0), (10, 6810.0)]
    # Trades imported for Tuesday 1 December, before the roll-up's span: it stays current for its
    # days, the 1st is answered from its own trades, and the next build rolls up all four.
    write([[trade(0, 6700.0, base=at("2026-12-01T15:00"))]])
    with time_machine.travel(NOW):
        streams_flush(client=get_redis(), lake=lake)
        assert current_months(lake, "ESZ26", days_bars(lake, "ESZ26", *autumn)) == [month]
        assert daily() == [(30, 6790.0), (1, 6700.0), (8, 6800.0), (9, 9999.0), (10, 6810.0)]
        assert stale_months(lake, before=NOW.date()) == [(date(2026, 12, 1), "ESZ26")]
        minute_bars_rebuild(lake=lake, before=NOW.date())
        [month] = current_months(lake, "ESZ26", days_bars(lake, "ESZ26", *autumn))
        assert [bars.day.day for bars in month.days] == [1, 8, 9, 10]
        assert daily() == [(30, 6790.0), (1, 6700.0), (8, 6800.0), (9, 9999.0), (10, 6810.0)]


def test_compaction_builds_the_bars_of_closed_days_only(roll_week: Path) -> None:
    """Compaction on Friday 11 December 2026 at noon: the 9th and 10th are closed, the 11th is today."""
    with time_machine.travel(at("2026-12-11T12:00")):
        lake_compact(lake=roll_week, today=date(2026, 12, 11))
    assert [day_bars(roll_week, day, "ESZ26").current for day in DAYS] == [True, True, False]
    december = days_bars(roll_week, "ESZ26", date(2026, 12, 1), date(2026, 12, 31))
    assert [(month.first, month.last) for month in current_months(roll_week, "ESZ26", december)] == [
        (date(2026, 12, 9), date(2026, 12, 10))
    ]
    table = pq.read_table(day_bars(roll_week, date(2026, 12, 9), "ESZ26").path)
    assert table.schema.names == ["minute_ns", "open", "high", "low", "close", "volume", "trades"]
    assert all(ns % 60_000_000_000 == 0 for ns in table["minute_ns"].to_pylist()), "whole minutes"


def test_purge_takes_the_bars_with_the_trades(roll_week: Path) -> None:
    minute_bars_rebuild(lake=roll_week, before=NOW.date())
    RetentionPolicy.objects.update_or_create(
        data_type="trades", defaults={"enabled": True, "cold_retention_days": None}
    )
    answer_before = every_answer(roll_week)
    plan = purge_plan(client=get_redis(), lake=roll_week, data_type="trades", before=date(2026, 12, 10), now=NOW)
    planned = sorted(item.path for item in plan.files)
    assert any(path.startswith("bars_1m/date=2026-12-09/symbol=ESZ26/") for path in planned)
    assert not any("date=2026-12-10" in path for path in planned)
    # The roll-ups hold the 9th: they go too, whole.
    assert [path for path in planned if path.startswith(MONTHS_TABLE)] == [
        f"{MONTHS_TABLE}/month=2026-12/symbol={symbol}/{month.path.name}"
        for symbol in sorted(SYMBOLS)
        for month in current_months(roll_week, symbol, days_bars(roll_week, symbol, DAYS[0], DAYS[-1]))
    ]
    with time_machine.travel(NOW):
        purge_execute(client=get_redis(), lake=roll_week, plan=plan, dry_run=False, triggered_by="test")
    assert not (roll_week / MONTHS_TABLE).exists()
    # What is left answers as the trades left do; rebuilt, the roll-ups hold the 10th and 11th.
    from_trades = every_answer(roll_week)
    minute_bars_rebuild(lake=roll_week, before=NOW.date())
    for symbol in SYMBOLS:
        [month] = current_months(roll_week, symbol, days_bars(roll_week, symbol, DAYS[0], DAYS[-1]))
        assert (month.first, month.last) == (DAYS[1], DAYS[2])
    assert every_answer(roll_week) == from_trades
    assert from_trades != answer_before
    assert all(
        bar.start >= at("2026-12-09T23:00") for bar in from_trades[("ESZ26", "1d", SessionKind.ETH, at("2026-12-01"))]
    )


def test_lake_bars_command_lists_then_builds_the_stale_days(
    roll_week: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(NOW):
        call_command("lake_bars", "--check")
        out = capsys.readouterr().out
        assert "6 day(s) without current one-minute bars before 2026-12-14" in out
        assert "2026-12 ESH27\n2026-12 ESZ26\n2 month(s) without a current roll-up" in out
        call_command("lake_bars", "--before", "2026-12-10")
        assert "built the one-minute bars of 2 day(s) before 2026-12-10" in capsys.readouterr().out
        call_command("lake_bars")
        assert "of 4 day(s)" in capsys.readouterr().out
        call_command("lake_bars", "--check")
        assert "0 month(s) without a current roll-up" in capsys.readouterr().out
        # An earlier --before keeps the roll-ups that hold more days.
        call_command("lake_bars", "--before", "2026-12-11")
        assert "of 0 day(s)" in capsys.readouterr().out
    for symbol in SYMBOLS:
        [month] = current_months(roll_week, symbol, days_bars(roll_week, symbol, DAYS[0], DAYS[-1]))
        assert (month.first, month.last) == (DAYS[0], DAYS[-1])
    assert stale_partitions(roll_week, before=NOW.date()) == []
    assert stale_months(roll_week, before=NOW.date()) == []
