"""Trimming the streams a streamer wrote to their hot-retention window."""

from __future__ import annotations

from collections.abc import Iterable

from apps.core.redis import get_hot_redis
from apps.marketdata.services.trim import stream_trim


def written_streams_trim(*, redis_url: str, stream_keys: Iterable[str]) -> None:
    """Runs in a worker thread: the retention policies' hot windows, then XTRIM of each stream."""
    from django.db import connection

    from apps.storage.retention import hot_windows

    try:
        windows = hot_windows()
    finally:
        connection.close()
    client = get_hot_redis(redis_url)
    for key in sorted(stream_keys):
        kind = key.split(":", 2)[1]
        stream_trim(client=client, key=key, window_minutes=windows[kind])
