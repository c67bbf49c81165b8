from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Query, Router

from apps.api import render
from apps.api.inputs import symbol_resolve, time_range
from apps.api.schemas import ERRORS, NOT_FOUND, PageQuery, SymbolsOut, TicksLastQuery, TradePageOut, TradesLastOut
from apps.marketdata.selectors import trades_last
from apps.marketdata.subscriptions import symbols_configured
from apps.storage.pages import trades_page

router = Router(tags=["ticks"])


@router.get("/symbols", response={200: SymbolsOut, **ERRORS}, summary="Symbols the streamers follow")
def symbols(request: HttpRequest) -> dict[str, object]:
    return {"symbols": [{"alias": alias, "contract": contract} for alias, contract in symbols_configured()]}


@router.get("/ticks/last", response={200: TradesLastOut, **NOT_FOUND}, summary="The most recent trades, oldest first")
def ticks_last(request: HttpRequest, query: Query[TicksLastQuery]) -> dict[str, object]:
    symbol = symbol_resolve(query.symbol)
    return {"symbol": symbol, "trades": [render.trade(item) for item in trades_last(symbol=symbol, count=query.count)]}


@router.get("/ticks", response={200: TradePageOut, **NOT_FOUND}, summary="Trades in a time range, a page at a time")
def ticks(request: HttpRequest, query: Query[PageQuery]) -> dict[str, object]:
    start, end = time_range(query.start, query.end, default=timedelta(hours=1))
    symbol = symbol_resolve(query.symbol, at=end)
    page, next_cursor = trades_page(symbol=symbol, start=start, end=end, cursor=query.cursor, limit=query.limit)
    return {
        "symbol": symbol,
        "start": start,
        "end": end,
        "trades": [render.trade(item) for item in page],
        "next_cursor": next_cursor,
    }
