"""Reads about the lake: where each hot stream's flush stands."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from apps.core import keys
from apps.core.redis import get_hot_redis
from apps.storage.flush import hot_streams


@dataclass(frozen=True)
class FlushStatus:
    key: str
    last_id: str | None
    rows: int
    at: str | None
    pending: int
    lag_entries: int


def flush_status_list(*, client: redis.Redis | None = None) -> list[FlushStatus]:
    """Per hot stream: the last flushed id, rows in the last run, when, entries read but not yet
    written (pending) and entries not yet read (lag)."""
    client = client or get_hot_redis()
    statuses = []
    for key in hot_streams(client):
        checkpoint = {k.decode(): v.decode() for k, v in client.hgetall(keys.lake_checkpoint(key)).items()}  # type: ignore[union-attr]
        pending = lag = 0
        for group in client.xinfo_groups(key):
            name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
            if name == keys.LAKE_GROUP:
                pending = int(group["pending"])
                lag = int(group.get("lag") or 0)
                break
        else:
            lag = int(client.xlen(key))
        statuses.append(
            FlushStatus(
                key, checkpoint.get("last_id"), int(checkpoint.get("rows", 0)), checkpoint.get("at"), pending, lag
            )
        )
    return statuses
