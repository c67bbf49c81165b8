from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Query, Router

from apps.api import render
from apps.api.inputs import scope_of, symbol_resolve, time_range
from apps.api.schemas import NOT_FOUND, PageQuery, QuoteLatestOut, QuotePageOut, SymbolQuery
from apps.core.exceptions import NotFoundError
from apps.marketdata.selectors import quote_latest
from apps.storage.pages import quotes_page

router = Router(tags=["quotes"])


@router.get("/quotes/latest", response={200: QuoteLatestOut, **NOT_FOUND}, summary="The latest best bid and ask")
def quotes_latest(request: HttpRequest, query: Query[SymbolQuery]) -> dict[str, object]:
    scope = scope_of(query.replay)
    symbol = symbol_resolve(query.symbol, at=scope.now, keyspace=scope.keyspace)
    quote = quote_latest(symbol=symbol, keyspace=scope.keyspace)
    if quote is None:
        raise NotFoundError(f"no quote of {symbol} in the hot store")
    return {"symbol": symbol, **render.quote(quote, item_id=None)}


@router.get("/quotes", response={200: QuotePageOut, **NOT_FOUND}, summary="Quotes in a time range, a page at a time")
def quotes(request: HttpRequest, query: Query[PageQuery]) -> dict[str, object]:
    scope = scope_of(query.replay)
    start, end = time_range(query.start, query.end, default=timedelta(hours=1), now=scope.now)
    symbol = symbol_resolve(query.symbol, at=end, keyspace=scope.keyspace)
    page, next_cursor = quotes_page(
        symbol=symbol, start=start, end=end, cursor=query.cursor, limit=query.limit, keyspace=scope.keyspace
    )
    return {
        "symbol": symbol,
        "start": start,
        "end": end,
        "quotes": [render.stored_quote(item) for item in page],
        "next_cursor": next_cursor,
    }
