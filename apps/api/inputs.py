"""Checks of request input that the schema's types cannot express, raised as the application's
`BadInputError`, which the API answers with 422 in the same shape as ninja's validation errors
(the field is named)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.http import HttpRequest

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import loads
from apps.core.exceptions import BadInputError
from apps.marketdata.symbols import canonical

MAX_RANGE = timedelta(days=31)
# Stream ids and partitions start at the Unix epoch; nothing is older.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)


def symbol_resolve(raw: str, *, at: datetime | None = None, field: str = "symbol") -> str:
    """The canonical contract for a symbol or continuous alias (`ES` → the lead contract at `at`)."""
    try:
        symbol = canonical(raw, at=at or utc_now())
        keys.trades(symbol)  # the key builder has the last word on what a canonical symbol is
    except ValueError as error:
        raise BadInputError(field, str(error)) from None
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
    """[start, end] with defaults (end: now; start: `default` before end), end after start and
    the span at most `limit`."""
    end = instant_check(end, field="end") if end else utc_now()
    start = instant_check(start, field="start") if start else max(EARLIEST, end - default)
    if end < start:
        raise BadInputError("end", f"end {end.isoformat()} is before start {start.isoformat()}")
    if end - start > limit:
        raise BadInputError("start", f"the range from start to end may span at most {limit.days} days")
    return start, end


def json_object_check(request: HttpRequest) -> None:
    """ninja reads the fields of a one-schema body by name, so a body that is not a JSON object
    (`[1, 2]`) would pass as all defaults; refuse it instead."""
    if request.body and not isinstance(loads(request.body), dict):
        raise BadInputError("body", "the request body must be a JSON object", where="body")
