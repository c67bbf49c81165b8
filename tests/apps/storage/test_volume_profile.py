"""Volume by price and VWAP from known trades, across the lake and the hot store; the session a
range defaults to opens at 18:00 New York, Sunday to Thursday."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.core.redis import get_redis
from apps.marketdata.events import Side
from apps.storage.flush import streams_flush
from apps.storage.volume_profile import ProfileLevel, globex_session_start, volume_profile
from tests.factories import T0, trade, write


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR


def test_volume_at_each_price_by_aggressor_and_the_vwap_of_known_trades(lake: Path) -> None:
    write(
        [
            [trade(1, 6000.0, size=2, side=Side.BUY), trade(2, 6000.25, size=1, side=Side.SELL)],
            [trade(3, 6000.0, size=3, side=Side.SELL), trade(4, 6001.0, size=2, side=Side.BUY)],
        ]
    )
    streams_flush(client=get_redis(), lake=lake)
    # Not flushed yet.
    write([[trade(5, 6000.25, size=4, side=Side.BUY), trade(6, 5999.75, size=1, side=Side.UNKNOWN)]])
    profile = volume_profile(symbol="ESZ26", start=T0, end=T0 + timedelta(minutes=1))
    assert profile.levels == [
        ProfileLevel(5999.75, 1, 0, 0),
        ProfileLevel(6000.0, 5, 2, 3),
        ProfileLevel(6000.25, 5, 4, 1),
        ProfileLevel(6001.0, 2, 2, 0),
    ]
    assert (profile.volume, profile.trades) == (13, 6)
    # (2*6000 + 6000.25 + 3*6000 + 2*6001 + 4*6000.25 + 5999.75) / 13
    assert profile.vwap == 78003 / 13
    last_entry = get_redis().xrevrange("md:trades:{ESZ26}", count=1)[0][0].decode()
    assert profile.through == f"{last_entry}:1", "the last trade counted, as /ws/trades numbers it"
    part = volume_profile(symbol="ESZ26", start=T0 + timedelta(seconds=2), end=T0 + timedelta(seconds=3))
    assert (part.levels, part.vwap) == ([ProfileLevel(6000.0, 3, 0, 3), ProfileLevel(6000.25, 1, 0, 1)], 24000.25 / 4)


def test_a_range_without_trades_has_no_levels_and_no_vwap(lake: Path) -> None:
    write([[trade(1, 6000.0)]])
    empty = volume_profile(symbol="ESZ26", start=T0 - timedelta(hours=2), end=T0 - timedelta(hours=1))
    assert (empty.levels, empty.volume, empty.trades, empty.vwap, empty.through) == ([], 0, 0, None, None)


@pytest.mark.calendar
@pytest.mark.parametrize(
    ("moment", "opened"),
    [
        # Tuesday 24 November 2026, 09:30 New York (14:30 UTC): Monday's 18:00 open (23:00 UTC).
        (datetime(2026, 11, 24, 14, 30, tzinfo=UTC), datetime(2026, 11, 23, 23, 0, tzinfo=UTC)),
        # Tuesday 18:00 New York exactly: the new session.
        (datetime(2026, 11, 24, 23, 0, tzinfo=UTC), datetime(2026, 11, 24, 23, 0, tzinfo=UTC)),
        # Saturday 28 November (weekend): Thursday's open, the last session of the week.
        (datetime(2026, 11, 28, 15, 0, tzinfo=UTC), datetime(2026, 11, 26, 23, 0, tzinfo=UTC)),
        # Sunday 29 November 19:00 New York: Sunday's 18:00 open.
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), datetime(2026, 11, 29, 23, 0, tzinfo=UTC)),
        # Monday 9 March 2026 (the day after the DST change), 10:00 New York = 14:00 UTC: Sunday
        # 18:00 EDT = 22:00 UTC.
        (datetime(2026, 3, 9, 14, 0, tzinfo=UTC), datetime(2026, 3, 8, 22, 0, tzinfo=UTC)),
        # Saturday 26 December 2026, after Christmas: no session opened on Christmas Eve's evening,
        # so the last one is Wednesday 23's 18:00 open (Christmas Eve's trade date).
        (datetime(2026, 12, 26, 15, 0, tzinfo=UTC), datetime(2026, 12, 23, 23, 0, tzinfo=UTC)),
    ],
)
def test_the_globex_session_opens_at_18_new_york_sunday_to_thursday_weekend_and_dst(
    moment: datetime, opened: datetime
) -> None:
    assert globex_session_start(at=moment) == opened
