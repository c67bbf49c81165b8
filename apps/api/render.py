"""Selector results as response dicts (the shapes of apps/api/schemas.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from ninja.renderers import BaseRenderer

from apps.core.fired_alerts import AlertEntry
from apps.marketdata.events import Quote
from apps.marketdata.selectors import StoredQuote, StoredTrade
from apps.marketdata.streamer_status import StreamerState
from apps.storage.bars import BarRow
from apps.storage.book import BookView
from apps.storage.models import PurgeRun
from apps.storage.selectors import FlushStatus


def from_ns(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def from_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def trade(item: StoredTrade) -> dict[str, Any]:
    # The fields, order and types of schemas.TradeOut: answered without validation (json_answer).
    trade = item.trade
    return {
        "id": item.id,
        "ts_event": int(trade.ts_event),
        "time": from_ns(trade.ts_event),
        "price": float(trade.price),
        "size": int(trade.size),
        "side": trade.side.name.lower(),
        "feed": trade.feed,
    }


def quote(quote: Quote, *, item_id: str | None) -> dict[str, Any]:
    return {
        "id": item_id,
        "ts_event": quote.ts_event,
        "time": from_ns(quote.ts_event),
        "bid_price": quote.bid_price,
        "bid_size": quote.bid_size,
        "ask_price": quote.ask_price,
        "ask_size": quote.ask_size,
        "feed": quote.feed,
    }


def stored_quote(item: StoredQuote) -> dict[str, Any]:
    return quote(item.quote, item_id=item.id)


def bar(row: BarRow) -> dict[str, Any]:
    # The fields, order and types of schemas.BarOut: answered without validation (json_answer).
    return {
        "time": from_ms(row.start_ms),
        "start_ms": int(row.start_ms),
        "open": float(row.open),
        "high": float(row.high),
        "low": float(row.low),
        "close": float(row.close),
        "volume": int(row.volume),
    }


def book_sides(book: BookView) -> dict[str, Any]:
    return {
        "last_update": from_ms(book.last_update_ms) if book.last_update_ms else None,
        "bids": book.bids,
        "asks": book.asks,
    }


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def streamer(state: StreamerState) -> dict[str, Any]:
    status = state.status
    connected_since = _number(status.get("connected_since"))
    last_message = _number(status.get("last_message_ms"))
    updated_at = status.get("updated_at")
    store_down_since = _number(status.get("store_down_since_ms"))
    return {
        "name": state.name,
        "state": state.state,
        "enabled": state.enabled,
        # A stopped or vanished process has no rate and no connection now, whatever it last wrote.
        "connected_since": from_ms(connected_since * 1000) if connected_since and state.live else None,
        "last_message": from_ms(last_message) if last_message else None,
        "rate": _number(status.get("messages_per_second")) if state.live else 0.0,
        "reconnects": int(_number(status.get("reconnects")) or 0),
        "gaps": int(_number(status.get("gaps")) or 0),
        "store_outages": int(_number(status.get("store_outages")) or 0),
        "store_down_since": from_ms(store_down_since) if store_down_since else None,
        "updated_at": datetime.fromisoformat(updated_at) if updated_at else None,
    }


def flush_status(status: FlushStatus) -> dict[str, Any]:
    return {
        "stream": status.key,
        "last_id": status.last_id,
        "rows": status.rows,
        "at": datetime.fromisoformat(status.at) if status.at else None,
        "pending": status.pending,
        "lag_entries": status.lag_entries,
    }


def _alert_time(entry: AlertEntry) -> datetime:
    """The alert's own `time` (ISO-8601 or epoch ms) when it has one, else its stream id's."""
    raw = entry.fields.get("time", "")
    if raw.isdigit():
        return from_ms(int(raw))
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return from_ms(int(entry.id.split("-")[0]))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def alert(entry: AlertEntry) -> dict[str, Any]:
    fields = entry.fields
    return {
        "id": entry.id,
        "time": _alert_time(entry),
        "rule": fields.get("rule"),
        "symbol": fields.get("symbol"),
        "message": fields.get("message"),
        "fields": fields,
    }


class ORJSONRenderer(BaseRenderer):
    """orjson: several times faster than the standard encoder on long lists of trades."""

    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data, default=_error_context, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


_RENDERER = ORJSONRenderer()


JSON_CONTENT_TYPE = f"{ORJSONRenderer.media_type}; charset={ORJSONRenderer.charset}"


def json_answer(data: dict[str, Any]) -> HttpResponse:
    """A 200 answer rendered as ninja renders it (ORJSONRenderer, the same content type), but
    without validating `data` against the operation's response model first: for the long lists
    of the hottest reads (last trades, a day of bars), where validating and dumping every item
    again cost more than building it. `data` must already be what validation would give: the
    model's fields in its order with its types (trade() and bar() above);
    tests/apps/api/test_unvalidated_answers.py compares both byte for byte. The OpenAPI document
    still comes from the operation's response model."""
    return HttpResponse(_RENDERER.render(None, data, response_status=200), content_type=JSON_CONTENT_TYPE)  # type: ignore[arg-type]


def _error_context(value: Any) -> str:
    """What orjson cannot encode in a validation error's context: a Decimal bound (`ge`), the
    ValueError a validator raised. Anything else is a bug and stays a TypeError."""
    if isinstance(value, Decimal | BaseException):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def purge_run(run: PurgeRun) -> dict[str, Any]:
    return {
        "run_id": run.pk,
        "dry_run": run.dry_run,
        "status": run.status,
        "plan": run.plan,
        "result": run.result,
        "bytes_freed": run.bytes_freed,
    }
