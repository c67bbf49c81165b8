"""The depth ladder's live book, the heatmap's book history and the volume profile with VWAP."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Query, Router

from apps.api.depth_schemas import (
    HISTORY_DAYS,
    PROFILE_DAYS,
    BookHistoryOut,
    BookHistoryQuery,
    LiveBookOut,
    LiveBookQuery,
    ProfileOut,
    ProfileQuery,
)
from apps.api.inputs import instant_check, scope_of, symbol_resolve, time_range
from apps.api.render import from_ms
from apps.api.schemas import NOT_FOUND
from apps.core.exceptions import NotFoundError
from apps.marketdata.depth_reads import book_live
from apps.storage.book_history import book_history
from apps.storage.volume_profile import globex_session_start, volume_profile

router = Router(tags=["depth"])


@router.get(
    "/depth/live",
    response={200: LiveBookOut, **NOT_FOUND},
    summary="The newest book, with the /ws/depth position to follow it from",
)
def depth_live(request: HttpRequest, query: Query[LiveBookQuery]) -> dict[str, object]:
    scope = scope_of(query.replay)
    symbol = symbol_resolve(query.symbol, at=scope.now, keyspace=scope.keyspace)
    live = book_live(symbol=symbol, feed=query.feed, keyspace=scope.keyspace)
    if live is None:
        raise NotFoundError(f"no book of {symbol} in the hot store" + (f" from {query.feed}" if query.feed else ""))
    sides = live.book.levels(max(len(live.book.bids), len(live.book.asks)))
    return {
        "symbol": symbol,
        "feed": live.book.feed,
        "last_update": from_ms(live.book.ts_ms) if live.book.ts_ms else None,
        "through": live.through,
        **sides,
    }


@router.get(
    "/depth/history",
    response={200: BookHistoryOut, **NOT_FOUND},
    summary="The book at the end of each step of a range, lake and hot store (heatmap columns)",
)
def depth_history(request: HttpRequest, query: Query[BookHistoryQuery]) -> dict[str, object]:
    scope = scope_of(query.replay)
    start, end = time_range(
        query.start, query.end, default=timedelta(minutes=15), limit=timedelta(days=HISTORY_DAYS), now=scope.now
    )
    symbol = symbol_resolve(query.symbol, at=end, keyspace=scope.keyspace)
    history = book_history(
        symbol=symbol,
        start=start,
        end=end,
        step_ms=query.step_ms,
        levels=query.levels,
        feed=query.feed,
        keyspace=scope.keyspace,
    )
    return {
        "symbol": symbol,
        "feed": history.feed,
        "start": start,
        "end": end,
        "step_ms": history.step_ms,
        "columns": [{"start": column.start_ms, "bids": column.bids, "asks": column.asks} for column in history.columns],
    }


@router.get(
    "/profile",
    response={200: ProfileOut, **NOT_FOUND},
    summary="Volume by price and VWAP of a range (default: the current session), lake and hot store",
)
def profile(request: HttpRequest, query: Query[ProfileQuery]) -> dict[str, object]:
    scope = scope_of(query.replay)
    if query.start is None:
        end = instant_check(query.end, field="end") if query.end else scope.now
        start, end = time_range(globex_session_start(at=end), end, default=timedelta(days=1), now=scope.now)
    else:
        start, end = time_range(
            query.start, query.end, default=timedelta(days=1), limit=timedelta(days=PROFILE_DAYS), now=scope.now
        )
    symbol = symbol_resolve(query.symbol, at=end, keyspace=scope.keyspace)
    result = volume_profile(symbol=symbol, start=start, end=end, keyspace=scope.keyspace)
    return {
        "symbol": symbol,
        "start": start,
        "end": end,
        "volume": result.volume,
        "trades": result.trades,
        "vwap": result.vwap,
        "through": result.through,
        "levels": [
            {"price": level.price, "volume": level.volume, "buy": level.buy, "sell": level.sell}
            for level in result.levels
        ],
    }
