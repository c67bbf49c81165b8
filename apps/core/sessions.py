"""Trading sessions and holidays of the US equity and index-option market, from
pandas_market_calendars' NYSE calendar (holidays and early closes maintained upstream).

Extended hours are the pre-market from 04:00 and the post-market until 20:00 New York time;
on an early-close day the regular session ends at 13:00 and the post-market with it + 4 h.
"""

from __future__ import annotations

from dataclasses import dataclass
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


# --- trading days of the CME equity index futures (ES, NQ, RTY, YM and their micros) ---------
#
# A futures trade date D runs from the Globex open at 18:00 New York (17:00 Chicago) the evening
# before (Sunday for Monday, the evening after a holiday for the day after it) to the close at
# 17:00 New York on D, or earlier on an early-close day (13:00 New York on Thanksgiving, the day
# after, Christmas Eve, ...). The calendar is pandas_market_calendars' CME_Equity, maintained
# upstream like the NYSE one. RTH is the cash market's regular session, 09:30-16:00 New York
# (13:00 on early closes), from the NYSE calendar above: no RTH on an NYSE holiday.


class SessionKind(StrEnum):
    ETH = "eth"  # the whole Globex trading day
    RTH = "rth"  # the regular trading hours of the cash index


@dataclass(frozen=True)
class TradingSession:
    """One trading day: trades in [open, close) belong to it. `early_close` marks a day that
    closes before its usual time."""

    trade_date: date
    open: datetime
    close: datetime
    early_close: bool


@lru_cache(maxsize=1)
def _futures_calendar() -> mcal.MarketCalendar:
    return mcal.get_calendar("CME_Equity")


@lru_cache(maxsize=16)
def _futures_year(year: int) -> tuple[TradingSession, ...]:
    # The first trade date of a year opens on the evening of the last day of the year before.
    schedule = _futures_calendar().schedule(start_date=f"{year}-01-01", end_date=f"{year}-12-31")
    return tuple(
        TradingSession(
            trade_date=day.date(),
            open=row.market_open.to_pydatetime(),
            close=row.market_close.to_pydatetime(),
            early_close=to_exchange(row.market_close.to_pydatetime()).hour < 17,
        )
        for day, row in schedule.iterrows()
    )


@lru_cache(maxsize=16)
def _regular_year(year: int) -> tuple[TradingSession, ...]:
    schedule = _year_schedule(year)
    return tuple(
        TradingSession(
            trade_date=day,
            open=pd.Timestamp(row["market_open"]).to_pydatetime(),
            close=pd.Timestamp(row["market_close"]).to_pydatetime(),
            early_close=to_exchange(pd.Timestamp(row["market_close"]).to_pydatetime()).hour < 16,
        )
        for day, row in schedule.iterrows()
    )


# The calendars are computed, not listed: past this year there is no market data to cut into days.
LAST_CALENDAR_YEAR = 2200


def trading_sessions(*, kind: SessionKind, start: datetime, end: datetime) -> list[TradingSession]:
    """The sessions of `kind` that overlap [start, end], oldest first (holidays have none; none
    after LAST_CALENDAR_YEAR)."""
    start, end = ensure_utc(start), ensure_utc(end)
    year_of = _futures_year if kind is SessionKind.ETH else _regular_year
    # A session opening on Dec 31 evening belongs to the next year's first trade date.
    found: list[TradingSession] = []
    for year in range(to_exchange(start).year, min(to_exchange(end).year + 2, LAST_CALENDAR_YEAR + 1)):
        found.extend(item for item in year_of(year) if item.close > start and item.open <= end)
    return found
