from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Query, Router

from apps.api import render
from apps.api.inputs import scope_of, symbol_resolve, time_range
from apps.api.schemas import NOT_FOUND, BarsOut, BarsQuery
from apps.storage.bars import MAX_BARS, bars_range
from apps.storage.lake_bars import INTERVAL_NS

router = Router(tags=["bars"])


@router.get("/bars", response={200: BarsOut, **NOT_FOUND}, summary="OHLCV bars at any interval, lake and hot store")
def bars(request: HttpRequest, query: Query[BarsQuery]) -> dict[str, object]:
    # At most a year, and at most MAX_BARS bars of the interval: a longer range is cut (time_range).
    scope = scope_of(query.replay)
    most_bars = timedelta(microseconds=INTERVAL_NS[query.interval.value] * MAX_BARS // 1000)
    start, end = time_range(
        query.start, query.end, default=timedelta(days=1), limit=min(timedelta(days=366), most_bars), now=scope.now
    )
    symbol = symbol_resolve(query.symbol, at=end, keyspace=scope.keyspace)
    rows = bars_range(symbol=symbol, interval=query.interval.value, start=start, end=end, keyspace=scope.keyspace)
    return {
        "symbol": symbol,
        "interval": query.interval.value,
        "start": start,
        "end": end,
        "bars": [render.bar(row) for row in rows],
    }
