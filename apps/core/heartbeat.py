"""Liveness records written by scheduled work, read by the health checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.redis import get_redis


def beat_heartbeat_record() -> dict[str, Any]:
    """Store the time a beat-scheduled task last ran in a worker."""
    now = utc_now().isoformat()
    get_redis().set(keys.BEAT_LAST_RUN, now)
    return {"recorded_at": now}


def beat_last_run() -> datetime | None:
    raw = get_redis().get(keys.BEAT_LAST_RUN)
    if not raw:
        return None
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)
