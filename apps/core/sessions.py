"""Trading sessions and holidays of the US equity and index-option market, from
pandas_market_calendars' NYSE calendar (holidays and early closes maintained upstream).

Extended hours are the pre-market from 04:00 and the post-market until 20:00 New York time;
on an early-close day the regular session ends at 13:00 and the post-market with it + 4 h.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache

import pandas as pd
import pandas_market_calendars as mcal

from apps.core.clock import ensure_utc, to_exchange


class Session(StrEnum):
    REGULAR = "regular"
    EXTENDED = "extended"
    CLOSED = "closed"


@lru_cache(maxsize=1)
def _calendar() -> mcal.MarketCalendar:
    return mcal.get_calendar("NYSE")


@lru_cache(maxsize=8)
def _year_schedule(year: int) -> pd.DataFrame:
    schedule = _calendar().schedule(start_date=f"{year}-01-01", end_date=f"{year}-12-31", start="pre", end="post")
    schedule.index = schedule.index.date
    return schedule


def is_trading_day(day: date) -> bool:
    return day in _year_schedule(day.year).index


def is_holiday(day: date) -> bool:
    """A weekday on which the exchange is closed (New Year's Day, Good Friday, ...)."""
    return day.weekday() < 5 and not is_trading_day(day)


def session_at(moment: datetime) -> Session:
    """Which session `moment` (timezone-aware) falls in, by the exchange calendar."""
    moment = ensure_utc(moment)
    day = to_exchange(moment).date()
    schedule = _year_schedule(day.year)
    if day not in schedule.index:
        return Session.CLOSED
    row = schedule.loc[day]
    stamp = pd.Timestamp(moment)
    if row["market_open"] <= stamp < row["market_close"]:
        return Session.REGULAR
    if row["pre"] <= stamp < row["post"]:
        return Session.EXTENDED
    return Session.CLOSED


def regular_close(day: date) -> datetime | None:
    """The regular session's close on `day` in UTC (13:00 New York on early-close days)."""
    schedule = _year_schedule(day.year)
    if day not in schedule.index:
        return None
    return pd.Timestamp(schedule.loc[day]["market_close"]).to_pydatetime()
