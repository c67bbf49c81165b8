from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from apps.api import render
from apps.api.inputs import scope_of, symbol_resolve, time_range
from apps.api.schemas import NOT_FOUND, BarsOut, BarsQuery, SessionsOut, SessionsQuery
from apps.core.sessions import trading_sessions
from apps.marketdata.symbols import ROOTS, rolls_between
from apps.storage.bars import MAX_BARS, bars_range
from apps.storage.lake_bars import INTERVAL_NS

router = Router(tags=["bars"])


@router.get("/bars", response={200: BarsOut, **NOT_FOUND}, summary="OHLCV bars at any interval, lake and hot store")
def bars(request: HttpRequest, query: Query[BarsQuery]) -> HttpResponse:
    # At most a year, and at most MAX_BARS bars of the interval: a longer range is cut (time_range).
    scope = scope_of(query.replay)
    most_bars = timedelta(microseconds=INTERVAL_NS[query.interval.value] * MAX_BARS // 1000)
    start, end = time_range(
        query.start, query.end, default=timedelta(days=1), limit=min(timedelta(days=366), most_bars), now=scope.now
    )
    symbol = symbol_resolve(query.symbol, at=end, keyspace=scope.keyspace)
    rows = bars_range(
        symbol=symbol,
        interval=query.interval.value,
        start=start,
        end=end,
        session=query.session,
        keyspace=scope.keyspace,
    )
    # A day of 1-minute bars is 1,440 items: rendered as BarsOut without validating them again
    # (render.json_answer).
    return render.json_answer(
        {
            "symbol": str(symbol),
            "interval": str(query.interval.value),
            "session": str(query.session.value),
            "start": start,
            "end": end,
            "bars": [render.bar(row) for row in rows],
        }
    )


@router.get(
    "/sessions",
    response={200: SessionsOut, **NOT_FOUND},
    summary="Trading days (exchange calendar) and contract rolls of a symbol in a time range",
)
def sessions(request: HttpRequest, query: Query[SessionsQuery]) -> dict[str, object]:
    start, end = time_range(query.start, query.end, default=timedelta(days=7), limit=timedelta(days=62))
    contract = symbol_resolve(query.symbol, at=end)
    alias = query.symbol.strip().upper().lstrip("/")
    days = trading_sessions(kind=query.session, start=start, end=end) if end >= start else []
    rolls = rolls_between(alias, start=start, end=end) if alias in ROOTS and end >= start else []
    return {
        "symbol": alias,
        "contract": contract,
        "session": query.session.value,
        "start": start,
        "end": end,
        "sessions": [
            {"trade_date": day.trade_date, "open": day.open, "close": day.close, "early_close": day.early_close}
            for day in days
        ],
        "rolls": [{"at": roll.at, "before": roll.before, "after": roll.after} for roll in rolls],
    }
