"""The session filter of a rule, by the input's event time and the exchange calendar
(`apps/core/sessions.py`), looked up once per minute of event time."""

from __future__ import annotations

from datetime import UTC, datetime

from apps.alerts.models import SessionFilter
from apps.core.sessions import Session, session_at

MINUTE_NS = 60_000_000_000
_cache: dict[int, Session] = {}


def session_of(ts_ns: int) -> Session:
    minute = ts_ns // MINUTE_NS
    found = _cache.get(minute)
    if found is None:
        if len(_cache) > 100_000:
            _cache.clear()
        found = _cache[minute] = session_at(datetime.fromtimestamp(minute * 60, tz=UTC))
    return found


# The sessions each filter fires in; ANY is absent: it looks no session up.
SESSIONS_ALLOWED: dict[str, frozenset[Session]] = {
    SessionFilter.REGULAR: frozenset({Session.REGULAR}),
    SessionFilter.EXTENDED: frozenset({Session.REGULAR, Session.EXTENDED}),
}
