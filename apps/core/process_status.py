"""The status hash of a long-running process other than the streamers (the Discord bot): its
state, when it connected, its disconnects. Written and read here, so a process never names a
Redis key itself."""

from __future__ import annotations

from typing import Any

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.redis import get_redis


def process_status_write(*, name: str, fields: dict[str, str | int | float], increment: str | None = None) -> None:
    """Sets `fields` (and `updated_at`); `increment` names a counter field to add one to."""
    client = get_redis()
    pipe = client.pipeline()
    mapping: dict[Any, Any] = dict(fields.items())
    mapping["updated_at"] = utc_now().isoformat()
    pipe.hset(keys.process_status(name), mapping=mapping)
    if increment:
        pipe.hincrby(keys.process_status(name), increment, 1)
    pipe.execute()


def process_status_read(*, name: str) -> dict[str, str]:
    raw = get_redis().hgetall(keys.process_status(name))
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (v.decode() if isinstance(v, bytes) else str(v))
        for k, v in raw.items()
    }
