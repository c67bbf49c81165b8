"""Schemas of the depth ladder, heatmap and volume-profile endpoints (apps/api/routers/depth_views.py)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import AwareDatetime, Field

from apps.api.schemas import FEED_PATTERN, REPLAY, SYMBOL, Out, instant, range_end

HISTORY_DAYS = 1
PROFILE_DAYS = 7


class LiveBookQuery(Schema):
    symbol: str = SYMBOL
    feed: str | None = Field(
        None, pattern=FEED_PATTERN, description="simulator, schwab, tastytrade, ...; default: the latest."
    )
    replay: str | None = REPLAY


class LiveBookOut(Out):
    symbol: str
    feed: str
    last_update: datetime | None = Field(description="When the book last changed.")
    through: str = Field(
        description="The last /ws/depth position the book includes: subscribe with"
        ' `"since": {symbol: through}` to follow it without a gap or a duplicate.'
    )
    bids: list[tuple[float, int]] = Field(description="Every level, best first: [price, size].")
    asks: list[tuple[float, int]]


class BookHistoryQuery(Schema):
    symbol: str = SYMBOL
    start: AwareDatetime | None = instant("Default: 15 minutes before end.")
    end: AwareDatetime | None = range_end(HISTORY_DAYS)
    step_ms: int = Field(
        1000, ge=100, le=3_600_000, description="Column width; widened so that the range holds at most 2,000 columns."
    )
    levels: int = Field(10, ge=1, le=50, description="Levels per side in each column.")
    feed: str | None = Field(
        None, pattern=FEED_PATTERN, description="simulator, schwab, tastytrade, ...; default: the latest."
    )
    replay: str | None = REPLAY


class BookColumnOut(Out):
    start: int = Field(
        description="Epoch ms; the column covers [start, start + step_ms) and shows the book at its end."
    )
    bids: list[tuple[float, int]]
    asks: list[tuple[float, int]]


class BookHistoryOut(Out):
    symbol: str
    feed: str | None = Field(description="The feed whose book this is; null when the symbol has no depth at all.")
    start: datetime
    end: datetime
    step_ms: int
    columns: list[BookColumnOut]


class ProfileQuery(Schema):
    symbol: str = SYMBOL
    start: AwareDatetime | None = instant(
        "Default: the open of the CME Globex session of end (18:00 New York, Sunday to Thursday)."
    )
    end: AwareDatetime | None = range_end(PROFILE_DAYS)
    replay: str | None = REPLAY


class ProfileLevelOut(Out):
    price: float
    volume: int
    buy: int = Field(description="Volume of buyer-initiated trades (at the ask).")
    sell: int = Field(description="Volume of seller-initiated trades (at the bid).")


class ProfileOut(Out):
    symbol: str
    start: datetime
    end: datetime
    volume: int
    trades: int
    vwap: float | None = Field(description="Volume-weighted average price of the range; null without trades.")
    through: str | None = Field(
        description="The last trade counted, as /ws/trades numbers it: subscribe with"
        ' `"since": {symbol: through}` to add the trades that follow.'
    )
    levels: list[ProfileLevelOut] = Field(description="Traded prices, lowest first.")
