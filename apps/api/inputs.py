"""Checks of request input that the schema's types cannot express, raised as the application's
`BadInputError`, which the API answers with 422 in the same shape as ninja's validation errors
(the field is named)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import loads
from apps.core.exceptions import BadInputError, NotFoundError
from apps.marketdata.replays import replay_require
from apps.marketdata.subscriptions import symbols_configured
from apps.marketdata.symbols import canonical
from apps.storage.symbols_known import symbol_known

MAX_RANGE = timedelta(days=31)
# Stream ids and partitions start at the Unix epoch; nothing is older.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)


def symbol_check(raw: str, *, at: datetime | None = None, field: str = "symbol") -> str:
    """The canonical form of a symbol or continuous alias (`ES` → the lead contract at `at`), 422
    for a malformed one; whether the platform has data of it is not asked (`symbol_resolve` does)."""
    try:
        symbol = canonical(raw, at=at or utc_now())
        keys.trades(symbol)  # the key builder has the last word on what a canonical symbol is
    except ValueError as error:
        raise BadInputError(field, str(error)) from None
    return symbol


def symbol_resolve(
    raw: str, *, at: datetime | None = None, field: str = "symbol", keyspace: keys.KeySpace = keys.LIVE
) -> str:
    """The canonical contract for a symbol or continuous alias (`ES` → the lead contract at `at`):
    422 for a malformed one, 404 for one the platform has never heard of (in a replay: one its
    sandbox holds is known)."""
    symbol = symbol_check(raw, at=at, field=field)
    if not symbol_known(symbol=symbol, keyspace=keyspace):
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


@dataclass(frozen=True)
class Scope:
    """Which store a request reads (live, or a replay's sandbox) and the "now" its defaults use:
    the wall clock live, the replay's clock in a replay (a replay of 20 November shows 20 November)."""

    keyspace: keys.KeySpace
    now: datetime


def scope_of(replay: str | None) -> Scope:
    """The store `replay=<id>` names: BadInputError (422) for an id no replay can have, NotFoundError
    (404) for an unknown or expired one."""
    if replay is None:
        return Scope(keys.LIVE, utc_now())
    state = replay_require(replay_id=replay)
    clock = state.clock
    if clock is None and state.first_ms is not None:
        clock = datetime.fromtimestamp(state.first_ms / 1000, tz=UTC)
    # The clock is the last event's millisecond; the range's end takes the whole of it.
    return Scope(state.keyspace, (clock + timedelta(microseconds=999)) if clock else utc_now())


def time_range(
    start: datetime | None,
    end: datetime | None,
    *,
    default: timedelta,
    limit: timedelta = MAX_RANGE,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """[start, end] with defaults (end: now, or start + `limit` when that is earlier; start:
    `default` before end). Every pair the schema allows is answered, since a schema cannot relate
    two parameters: a span longer than `limit` is cut at start + `limit`, and an end before the
    start is an empty range (start, start - 1 µs) that holds nothing. `now`: a replay's clock."""
    start = instant_check(start, field="start") if start else None
    end = instant_check(end, field="end") if end else None
    now = now or utc_now()
    if start is None:
        end = end or now
        return max(EARLIEST, end - min(default, limit)), end
    if end is None:
        end = min(now, start + limit)
    if end < start:
        return start, start - timedelta(microseconds=1)
    return start, min(end, start + limit)


# Free text a caller gives that is stored: anything but NUL, which PostgreSQL cannot store.
STORABLE_TEXT = r"^[^\x00]*$"


def json_object_check(request: HttpRequest) -> None:
    """ninja reads the fields of a one-schema body by name, so a body that is not a JSON object
    (`[1, 2]`) would pass as all defaults; refuse it instead."""
    if request.body and not isinstance(loads(request.body), dict):
        raise BadInputError("body", "the request body must be a JSON object", where="body")


def storable_check(values: dict[str, object]) -> None:
    """Refuse a NUL character (JSON `\\u0000`) anywhere in the values a body's fields will be
    stored as, naming where: PostgreSQL can store it neither in a text column nor in a JSON one,
    so it would otherwise end as a 500 at the save. (Free-text fields say so in the schema with
    STORABLE_TEXT; this is for the free-form ones, such as an alert rule's actions.)"""
    place = _nul_place(values, "")
    if place is not None:
        raise BadInputError(
            place, f"{place} must not contain NUL (\\u0000) characters: they cannot be stored", where="body"
        )


def _nul_place(value: object, path: str) -> str | None:
    """Where the first string (key or value) holding a NUL is, as `a.b[2].c`; None if nowhere."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return path or "body"
            found = _nul_place(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_place(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
