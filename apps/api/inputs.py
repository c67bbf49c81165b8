"""Checks of request input that the schema's types cannot express, raised as the application's
`BadInputError`, which the API answers with 422 in the same shape as ninja's validation errors
(the field is named)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.http import HttpRequest

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import loads
from apps.core.exceptions import BadInputError, NotFoundError
from apps.marketdata.subscriptions import symbols_configured
from apps.marketdata.symbols import canonical
from apps.storage.symbols_known import symbol_known

MAX_RANGE = timedelta(days=31)
# Stream ids and partitions start at the Unix epoch; nothing is older.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)


def symbol_resolve(raw: str, *, at: datetime | None = None, field: str = "symbol") -> str:
    """The canonical contract for a symbol or continuous alias (`ES` → the lead contract at `at`):
    422 for a malformed one, 404 for one the platform has never heard of."""
    try:
        symbol = canonical(raw, at=at or utc_now())
        keys.trades(symbol)  # the key builder has the last word on what a canonical symbol is
    except ValueError as error:
        raise BadInputError(field, str(error)) from None
    if not symbol_known(symbol=symbol):
        followed = ", ".join(alias or contract for alias, contract in symbols_configured())
        raise NotFoundError(
            f"no data for symbol {symbol!r}: it is not a futures contract the platform knows, and no feed or "
            f"import has stored it (the streamers follow {followed}; see /api/symbols)"
        )
    return symbol


def ticker_check(raw: str, *, field: str = "ticker") -> str:
    ticker = raw.strip().upper()
    try:
        keys.gex_snapshots(ticker)
    except ValueError as error:
        raise BadInputError(field, str(error).replace("symbol", "ticker", 1)) from None
    return ticker


def instant_check(moment: datetime, *, field: str) -> datetime:
    if moment < EARLIEST:
        raise BadInputError(
            field, f"{field} {moment.isoformat()} is before {EARLIEST:%Y-%m-%d}: there is no data that old"
        )
    return moment


def time_range(
    start: datetime | None, end: datetime | None, *, default: timedelta, limit: timedelta = MAX_RANGE
) -> tuple[datetime, datetime]:
    """[start, end] with defaults (end: now, or start + `limit` when that is earlier; start:
    `default` before end). Every pair the schema allows is answered, since a schema cannot relate
    two parameters: a span longer than `limit` is cut at start + `limit`, and an end before the
    start is an empty range (start, start - 1 µs) that holds nothing."""
    start = instant_check(start, field="start") if start else None
    end = instant_check(end, field="end") if end else None
    if start is None:
        end = end or utc_now()
        return max(EARLIEST, end - min(default, limit)), end
    if end is None:
        end = min(utc_now(), start + limit)
    if end < start:
        return start, start - timedelta(microseconds=1)
    return start, min(end, start + limit)


def json_object_check(request: HttpRequest) -> None:
    """ninja reads the fields of a one-schema body by name, so a body that is not a JSON object
    (`[1, 2]`) would pass as all defaults; refuse it instead."""
    if request.body and not isinstance(loads(request.body), dict):
        raise BadInputError("body", "the request body must be a JSON object", where="body")
