"""UW input refused outside the streamer (the REST polls): parked in `deadletter:uw` beside the
socket's, counted and logged once per kind per process."""

from __future__ import annotations

import redis
import structlog

from apps.core import keys
from apps.core.clock import utc_now

log = structlog.get_logger(__name__)
MAX_RAW_BYTES = 64 * 1024
DEAD_LETTER_MAXLEN = 100_000
SOURCE = "uw"
_logged: set[str] = set()


def uw_dead_letter(*, client: redis.Redis, kind: str, reason: str, location: str, raw: bytes) -> None:
    if kind not in _logged:
        _logged.add(kind)
        log.warning(
            "uw.dead_letter", kind=kind, reason=reason, location=location, sample=raw[:300].decode(errors="replace")
        )
    client.xadd(
        keys.dead_letter(SOURCE),
        {
            "reason": f"{kind}: {reason}",
            "location": location,
            "raw": raw[:MAX_RAW_BYTES],
            "truncated": int(len(raw) > MAX_RAW_BYTES),
            "at": utc_now().isoformat(),
        },
        maxlen=DEAD_LETTER_MAXLEN,
        approximate=True,
    )
