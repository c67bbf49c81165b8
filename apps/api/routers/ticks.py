from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from apps.api import render
from apps.api.inputs import scope_of, symbol_resolve, time_range
from apps.api.schemas import (
    NOT_FOUND,
    PageQuery,
    ReplayQuery,
    SymbolsOut,
    TicksLastQuery,
    TradePageOut,
    TradesLastOut,
)
from apps.marketdata.replays import replay_require
from apps.marketdata.selectors import trades_last
from apps.marketdata.subscriptions import symbols_configured
from apps.storage.pages import trades_page

router = Router(tags=["ticks"])


@router.get(
    "/symbols", response={200: SymbolsOut, **NOT_FOUND}, summary="Symbols the streamers follow (or a replay holds)"
)
def symbols(request: HttpRequest, query: Query[ReplayQuery]) -> dict[str, object]:
    if query.replay is None:
        return {"symbols": [{"alias": alias, "contract": contract} for alias, contract in symbols_configured()]}
    state = replay_require(replay_id=query.replay)
    return {"symbols": [{"alias": None, "contract": contract} for contract in state.symbols]}


@router.get("/ticks/last", response={200: TradesLastOut, **NOT_FOUND}, summary="The most recent trades, oldest first")
def ticks_last(request: HttpRequest, query: Query[TicksLastQuery]) -> HttpResponse:
    scope = scope_of(query.replay)
    symbol = symbol_resolve(query.symbol, at=scope.now, keyspace=scope.keyspace)
    trades = trades_last(symbol=symbol, count=query.count, keyspace=scope.keyspace)
    # The hottest read: rendered as TradesLastOut without validating it again (render.json_answer).
    return render.json_answer({"symbol": str(symbol), "trades": [render.trade(item) for item in trades]})


@router.get("/ticks", response={200: TradePageOut, **NOT_FOUND}, summary="Trades in a time range, a page at a time")
def ticks(request: HttpRequest, query: Query[PageQuery]) -> dict[str, object]:
    scope = scope_of(query.replay)
    start, end = time_range(query.start, query.end, default=timedelta(hours=1), now=scope.now)
    symbol = symbol_resolve(query.symbol, at=end, keyspace=scope.keyspace)
    page, next_cursor = trades_page(
        symbol=symbol, start=start, end=end, cursor=query.cursor, limit=query.limit, keyspace=scope.keyspace
    )
    return {
        "symbol": symbol,
        "start": start,
        "end": end,
        "trades": [render.trade(item) for item in page],
        "next_cursor": next_cursor,
    }
