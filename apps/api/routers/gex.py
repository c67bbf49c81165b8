from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from django.http import HttpRequest
from ninja import Query, Router

from apps.api.inputs import instant_check, scope_of, ticker_check, time_range
from apps.api.schemas import NOT_FOUND, GEXAtQuery, GEXHistoryOut, GEXHistoryQuery, GEXQuery, GEXSnapshotOut
from apps.core.exceptions import NotFoundError
from apps.gex.selectors import snapshot_at, snapshot_latest, snapshots_between
from apps.gex.snapshots import GEXSnapshot, category_canonical

router = Router(tags=["gex"])


def _live_only(replay: str | None) -> None:
    """A replay replays trades, quotes and depth; it holds no GEX snapshot (404, or the id's error)."""
    if replay is not None:
        scope_of(replay)
        raise NotFoundError(f"replay {replay!r} holds no GEX snapshots: a replay carries trades, quotes and depth")


def _snapshot(snapshot: GEXSnapshot) -> dict[str, Any]:
    return msgspec.to_builtins(snapshot)


@router.get("/gex/latest", response={200: GEXSnapshotOut, **NOT_FOUND}, summary="The newest GEX snapshot")
def gex_latest(request: HttpRequest, query: Query[GEXQuery]) -> dict[str, Any]:
    _live_only(query.replay)
    ticker, category = ticker_check(query.ticker), category_canonical(query.category.value)
    snapshot = snapshot_latest(ticker=ticker, category=category)
    if snapshot is None:
        raise NotFoundError(f"no {category} snapshot of {ticker}")
    return _snapshot(snapshot)


@router.get("/gex/at", response={200: GEXSnapshotOut, **NOT_FOUND}, summary="The GEX snapshot in force at an instant")
def gex_at(request: HttpRequest, query: Query[GEXAtQuery]) -> dict[str, Any]:
    _live_only(query.replay)
    ticker, category = ticker_check(query.ticker), category_canonical(query.category.value)
    at = instant_check(query.at, field="at")
    snapshot = snapshot_at(ticker=ticker, category=category, at=at)
    if snapshot is None:
        raise NotFoundError(f"no {category} snapshot of {ticker} at or before {at.isoformat()}")
    return _snapshot(snapshot)


@router.get("/gex/history", response={200: GEXHistoryOut, **NOT_FOUND}, summary="GEX snapshots in a time range")
def gex_history(request: HttpRequest, query: Query[GEXHistoryQuery]) -> dict[str, Any]:
    _live_only(query.replay)
    ticker, category = ticker_check(query.ticker), category_canonical(query.category.value)
    start, end = time_range(query.start, query.end, default=timedelta(days=1))
    page, next_cursor = snapshots_between(
        ticker=ticker, category=category, start=start, end=end, cursor=query.cursor, limit=query.limit
    )
    return {
        "ticker": ticker,
        "category": category,
        "start": start,
        "end": end,
        "snapshots": [{"id": position, **_snapshot(snapshot)} for position, snapshot in page],
        "next_cursor": next_cursor,
    }
