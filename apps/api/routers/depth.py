from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from apps.api import render
from apps.api.inputs import instant_check, scope_of, symbol_resolve
from apps.api.schemas import NOT_FOUND, BookOut, BookQuery, CompareQuery, DepthCompareOut
from apps.core.exceptions import BadInputError, NotFoundError
from apps.marketdata.events import FEED_CODES
from apps.storage.book import book_view, books_compare

router = Router(tags=["depth"])
FEEDS = sorted(name for name in FEED_CODES if name)


def _feed(raw: str, *, field: str) -> str:
    if raw not in FEEDS:
        raise BadInputError(field, f"feed {raw!r} is not one of {', '.join(FEEDS)}")
    return raw


@router.get("/depth/book", response={200: BookOut, **NOT_FOUND}, summary="The order book of one feed at an instant")
def depth_book(request: HttpRequest, query: Query[BookQuery]) -> dict[str, object]:
    scope = scope_of(query.replay)
    at = instant_check(query.at, field="at") if query.at else scope.now
    symbol = symbol_resolve(query.symbol, at=at, keyspace=scope.keyspace)
    feed = _feed(query.feed, field="feed") if query.feed else None
    book = book_view(symbol=symbol, at=at, feed=feed, levels=query.levels, keyspace=scope.keyspace)
    if book is None:
        raise NotFoundError(f"no book of {symbol} at {at.isoformat()}" + (f" from {feed}" if feed else ""))
    return {"symbol": symbol, "feed": book.feed, "time": at, **render.book_sides(book)}


@router.get("/depth/compare", response={200: DepthCompareOut, **NOT_FOUND}, summary="Two feeds' books side by side")
def depth_compare(request: HttpRequest, query: Query[CompareQuery]) -> dict[str, object]:
    names = [part.strip() for part in query.feeds.split(",") if part.strip()]
    if len(names) != 2 or names[0] == names[1]:
        raise BadInputError("feeds", f"feeds {query.feeds!r} must name two different feeds, e.g. schwab,tastytrade")
    scope = scope_of(query.replay)
    at = instant_check(query.at, field="at") if query.at else scope.now
    symbol = symbol_resolve(query.symbol, at=at, keyspace=scope.keyspace)
    feeds = [_feed(name, field="feeds") for name in names]
    books = books_compare(symbol=symbol, at=at, feeds=feeds, levels=query.levels, keyspace=scope.keyspace)
    return {
        "symbol": symbol,
        "time": at,
        "books": {name: render.book_sides(book) if book is not None else None for name, book in books.items()},
    }
