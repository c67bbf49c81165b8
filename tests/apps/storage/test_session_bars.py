"""Bars that follow the exchange's trading days (apps/storage/bar_windows.py): a 1d ETH bar starts
at 18:00 New York the evening before, RTH bars hold 09:30-16:00 New York only, holidays and early
closes come from the exchange calendar, and the lake and the hot store give the same bars.

Each test stands on named days (trades there, the clock set after them)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from pytest_django import Settings

from apps.core.redis import get_redis
from apps.core.sessions import SessionKind
from apps.marketdata.events import Trade
from apps.storage.bars import BarRow, bars_range
from apps.storage.flush import streams_flush
from apps.storage.lake_bars import INTERVAL_NS
from tests.factories import trade, write

pytestmark = pytest.mark.calendar


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def at_trade(text: str, price: float, size: int = 1, symbol: str = "ESZ26") -> Trade:
    return trade(0, price, size=size, symbol=symbol, base=at(text))


def starts(bars: list[BarRow]) -> list[str]:
    return [datetime.fromtimestamp(bar.start_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M") for bar in bars]


def ohlcv(bars: list[BarRow]) -> list[tuple[float, float, float, float, int]]:
    return [(bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in bars]


def test_a_daily_eth_bar_starts_at_six_in_the_evening_new_york_the_day_before(lake: Path) -> None:
    """Monday 23 and Tuesday 24 November 2026, ordinary days: 17:00-18:00 New York is the break,
    and a trade at 18:30 Monday evening is Tuesday's."""
    write(
        [
            [
                at_trade("2026-11-23T20:00:00", 6000.0, 2),  # Monday 15:00 New York: Monday's trade date
                at_trade("2026-11-23T23:30:00", 6010.0, 3),  # Monday 18:30 New York: Tuesday's
                at_trade("2026-11-24T14:30:00", 6020.0, 4),  # Tuesday 09:30 New York: Tuesday's
            ]
        ]
    )
    with time_machine.travel(at("2026-11-25T12:00:00")):
        days = bars_range(
            symbol="ESZ26", interval="1d", start=at("2026-11-23"), end=at("2026-11-25"), session=SessionKind.ETH
        )
        utc_days = bars_range(symbol="ESZ26", interval="1d", start=at("2026-11-23"), end=at("2026-11-25"))
    assert starts(days) == ["2026-11-22 23:00", "2026-11-23 23:00"], "18:00 New York (EST) the evening before"
    assert ohlcv(days) == [(6000.0, 6000.0, 6000.0, 6000.0, 2), (6010.0, 6020.0, 6010.0, 6020.0, 7)]
    assert starts(utc_days) == ["2026-11-23 00:00", "2026-11-24 00:00"], "without a session: UTC days"
    assert ohlcv(utc_days)[0][4] == 5


def test_christmas_has_no_bar_and_christmas_eve_closes_early(lake: Path) -> None:
    """Thursday 24 December 2026 closes at 13:00 New York; Friday 25 is a holiday; the next trade
    date (Monday 28) opens Sunday 27 at 18:00 New York."""
    write(
        [
            [
                at_trade("2026-12-24T15:00:00", 6100.0),  # 10:00 New York on Christmas Eve
                at_trade("2026-12-24T17:30:00", 6105.0),  # 12:30, before the early close
                at_trade("2026-12-24T18:30:00", 6090.0),  # 13:30, after it: counts toward Monday 28
                at_trade("2026-12-27T23:30:00", 6095.0),  # Sunday 18:30: Monday 28's
            ]
        ]
    )
    with time_machine.travel(at("2026-12-29T12:00:00")):
        eth = bars_range(
            symbol="ESZ26", interval="1d", start=at("2026-12-24"), end=at("2026-12-28T12:00"), session=SessionKind.ETH
        )
        rth = bars_range(
            symbol="ESZ26", interval="1d", start=at("2026-12-24"), end=at("2026-12-28T12:00"), session=SessionKind.RTH
        )
        rth_hours = bars_range(
            symbol="ESZ26", interval="1h", start=at("2026-12-24"), end=at("2026-12-25"), session=SessionKind.RTH
        )
    assert starts(eth) == ["2026-12-23 23:00", "2026-12-27 23:00"], "no bar for the 25th"
    assert ohlcv(eth) == [(6100.0, 6105.0, 6100.0, 6105.0, 2), (6090.0, 6095.0, 6090.0, 6095.0, 2)]
    assert starts(rth) == ["2026-12-24 14:30"], "RTH: 09:30 to the 13:00 early close only"
    assert ohlcv(rth) == [(6100.0, 6105.0, 6100.0, 6105.0, 2)]
    assert starts(rth_hours) == ["2026-12-24 14:30", "2026-12-24 17:30"], "hours from 09:30, the last cut at 13:00"


def test_rth_hours_start_at_half_past_nine_and_stop_at_the_early_close(lake: Path) -> None:
    """Friday 27 November 2026, the day after Thanksgiving: the cash session and Globex close at
    13:00 New York; Thanksgiving itself (26th) has no RTH at all."""
    write(
        [
            [
                at_trade("2026-11-26T15:00:00", 6050.0),  # Thanksgiving, 10:00 New York: Globex only
                at_trade("2026-11-27T14:00:00", 6060.0),  # 09:00: before RTH
                at_trade("2026-11-27T14:31:00", 6061.0),
                at_trade("2026-11-27T15:29:00", 6062.0),
                at_trade("2026-11-27T15:30:00", 6063.0),
                at_trade("2026-11-27T17:45:00", 6064.0),
                at_trade("2026-11-27T18:10:00", 6065.0),  # 13:10: after the early close
            ]
        ]
    )
    with time_machine.travel(at("2026-11-30T12:00:00")):
        hours = bars_range(
            symbol="ESZ26", interval="1h", start=at("2026-11-26"), end=at("2026-11-28"), session=SessionKind.RTH
        )
        days = bars_range(
            symbol="ESZ26", interval="1d", start=at("2026-11-26"), end=at("2026-11-28"), session=SessionKind.ETH
        )
    assert starts(hours) == ["2026-11-27 14:30", "2026-11-27 15:30", "2026-11-27 17:30"]
    assert [bar.close for bar in hours] == [6062.0, 6063.0, 6064.0]
    # Globex: Thanksgiving is a (short) trade date; Friday's closes at 13:00, and the trade after
    # it belongs to Monday 30 (which opens Sunday 29 at 18:00 New York).
    assert starts(days) == ["2026-11-25 23:00", "2026-11-26 23:00", "2026-11-29 23:00"]
    assert [bar.volume for bar in days] == [1, 5, 1]


def test_days_follow_new_york_across_the_spring_dst_change(lake: Path) -> None:
    """Sunday 8 March 2026, clocks go forward: Friday 6 closes at 22:00 UTC (17:00 EST), Monday 9
    opens Sunday at 22:00 UTC (18:00 EDT) and its RTH at 13:30 UTC (09:30 EDT)."""
    write(
        [
            [
                at_trade("2026-03-06T15:00:00", 6690.0, symbol="ESH26"),  # Friday 10:00 EST
                at_trade("2026-03-06T21:30:00", 6700.0, symbol="ESH26"),  # Friday 16:30 EST: after RTH
                at_trade("2026-03-08T22:30:00", 6710.0, symbol="ESH26"),  # Sunday 18:30 EDT: Monday's
                at_trade("2026-03-09T13:45:00", 6720.0, symbol="ESH26"),  # Monday 09:45 EDT
            ]
        ]
    )
    with time_machine.travel(at("2026-03-10T12:00:00")):
        eth = bars_range(
            symbol="ESH26", interval="1d", start=at("2026-03-06"), end=at("2026-03-10"), session=SessionKind.ETH
        )
        rth = bars_range(
            symbol="ESH26", interval="1d", start=at("2026-03-06"), end=at("2026-03-10"), session=SessionKind.RTH
        )
        four_hours = bars_range(
            symbol="ESH26", interval="4h", start=at("2026-03-08T20:00"), end=at("2026-03-09T16:00"),
            session=SessionKind.ETH,
        )  # fmt: skip
    assert starts(eth) == ["2026-03-05 23:00", "2026-03-08 22:00"]
    assert starts(rth) == ["2026-03-06 14:30", "2026-03-09 13:30"]
    # 4 h bars from the 18:00 EDT open: 18:00, 22:00, 02:00, 06:00, 10:00 New York.
    assert starts(four_hours) == ["2026-03-08 22:00", "2026-03-09 10:00"]


def test_the_lake_and_the_hot_store_give_the_same_session_bars(lake: Path) -> None:
    """Tuesday 24 to Thursday 26 November 2026 (Thanksgiving closes early): the same range asked
    while half of it is only in the hot store and again once all of it is in the lake."""
    first = [
        at_trade(f"2026-11-24T{hour:02d}:{minute:02d}:07", 6000.0 + hour + minute / 100, 1 + minute % 3)
        for hour in range(0, 24, 2)
        for minute in (0, 17, 44)
    ]
    second = [
        at_trade(f"2026-11-25T{hour:02d}:{minute:02d}:11", 6030.0 - hour + minute / 100, 1 + minute % 4)
        for hour in range(0, 24, 3)
        for minute in (5, 31, 58)
    ] + [at_trade("2026-11-26T17:59:00", 6040.0), at_trade("2026-11-26T18:05:00", 6041.0)]
    write([first])
    streams_flush(client=get_redis(), lake=lake)
    write([second])
    start, end = at("2026-11-23T20:00"), at("2026-11-27")
    cases = [(interval, session) for interval in ("1m", "15m", "1h", "4h", "1d") for session in SessionKind]
    with time_machine.travel(at("2026-11-30T12:00:00")):
        mixed = {
            case: bars_range(symbol="ESZ26", interval=case[0], start=start, end=end, session=case[1]) for case in cases
        }
        streams_flush(client=get_redis(), lake=lake)
        lake_only = {
            case: bars_range(symbol="ESZ26", interval=case[0], start=start, end=end, session=case[1]) for case in cases
        }
    assert mixed == lake_only
    assert all(mixed[case] for case in cases)
    assert sum(bar.volume for bar in mixed[("1d", SessionKind.ETH)]) == sum(item.size for item in first + second)
    assert set(INTERVAL_NS) >= {interval for interval, _ in cases}
