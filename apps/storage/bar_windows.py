"""Which bar a trade falls in when bars follow the exchange's trading days.

A trading day (apps.core.sessions) is a window of trades: for ETH, from the previous day's close
to this day's close (trades in the daily break, over a weekend or a holiday count toward the next
trade date, as CME counts them); for RTH, from 09:30 to the close of the cash session (trades
outside are not in any RTH bar). A 1d bar is a whole window and starts at the day's open (18:00
New York the evening before, for ETH). Shorter bars are aligned to the day's open and cut at the
window's edges, so no bar straddles two trading days: 1h RTH bars start at 09:30, 10:30, ...

The lake (DuckDB, apps/storage/lake_bars.py) and the hot store (apps/storage/bars.py) bucket with
these same windows and the same integer arithmetic, so both give the same bars.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from apps.core.epoch import to_epoch_ns
from apps.core.sessions import SessionKind, trading_sessions

DAY_NS = 86_400 * 1_000_000_000
# How far before a range the previous ETH session may have closed (a long holiday weekend).
_LOOKAROUND = timedelta(days=10)


@dataclass(frozen=True)
class BarWindow:
    start_ns: int  # the first instant whose trades count toward this trading day
    end_ns: int  # the close (exclusive)
    open_ns: int  # the day's open: where its 1d bar starts
    anchor_ns: int  # the open moved back by whole bar widths to at most start_ns: bars align to it


@dataclass(frozen=True)
class BarGrid:
    """The windows of the trading days over a range, for one bar width."""

    session: SessionKind
    width_ns: int
    windows: tuple[BarWindow, ...]
    ends: tuple[int, ...]  # each window's end_ns, for bisect

    @property
    def daily(self) -> bool:
        return self.width_ns >= DAY_NS

    def bucket(self, ns: int) -> tuple[int, int] | None:
        """(the bar's first instant, the bar's start as shown) of the trade at `ns`, or None
        when no trading day holds it. The two differ only for an ETH 1d bar holding trades from
        the break before the open."""
        index = bisect.bisect_right(self.ends, ns)
        if index >= len(self.windows):
            return None
        window = self.windows[index]
        if ns < window.start_ns:
            return None
        if self.daily:
            return window.start_ns, window.open_ns
        aligned = window.anchor_ns + (ns - window.anchor_ns) // self.width_ns * self.width_ns
        first = max(aligned, window.start_ns)
        return first, first

    def floor(self, ns: int) -> int:
        """The first instant of the bar holding `ns`; for an instant no trading day holds, the
        start of the next window (nothing between counts), or `ns` after the last one."""
        bucket = self.bucket(ns)
        if bucket is not None:
            return bucket[0]
        index = bisect.bisect_right(self.ends, ns)
        return self.windows[index].start_ns if index < len(self.windows) else ns


def bar_grid(*, session: SessionKind, width_ns: int, start: datetime, end: datetime) -> BarGrid:
    """The trading-day windows of `session` that may hold trades of [start, end]."""
    days = trading_sessions(kind=session, start=start - _LOOKAROUND, end=end + _LOOKAROUND)
    start_ns, end_ns = to_epoch_ns(start), to_epoch_ns(end)
    windows: list[BarWindow] = []
    previous_close: int | None = None
    for day in days:
        open_ns, close_ns = to_epoch_ns(day.open), to_epoch_ns(day.close)
        first = open_ns if session is SessionKind.RTH or previous_close is None else previous_close
        previous_close = close_ns
        if close_ns <= start_ns or first > end_ns:
            continue
        back = 0 if width_ns >= DAY_NS else -(-(open_ns - first) // width_ns) * width_ns
        windows.append(BarWindow(start_ns=first, end_ns=close_ns, open_ns=open_ns, anchor_ns=open_ns - back))
    return BarGrid(
        session=session, width_ns=width_ns, windows=tuple(windows), ends=tuple(window.end_ns for window in windows)
    )
