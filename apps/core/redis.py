"""Redis connections: one pooled client per URL and process, sync and asyncio.

Everything that talks to Redis gets its client here, so pool sizes, timeouts and decoding are
decided once.
"""

from __future__ import annotations

import os
import threading

import redis
import redis.asyncio
from django.conf import settings

_lock = threading.Lock()
_sync_pools: dict[tuple[int, str], redis.ConnectionPool] = {}

SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 2.0


def _url(url: str | None) -> str:
    return url or settings.REDIS_URL


def get_redis(url: str | None = None) -> redis.Redis:
    """A client on this process's pool for `url` (default: settings.REDIS_URL); bytes replies."""
    key = (os.getpid(), _url(url))  # a forked worker child must not reuse its parent's sockets
    with _lock:
        pool = _sync_pools.get(key)
        if pool is None:
            pool = redis.ConnectionPool.from_url(
                key[1],
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=CONNECT_TIMEOUT,
                health_check_interval=30,
            )
            _sync_pools[key] = pool
    return redis.Redis(connection_pool=pool)


def get_async_redis(url: str | None = None) -> redis.asyncio.Redis:
    """An asyncio client for the running event loop; close it with `await client.aclose()`."""
    return redis.asyncio.Redis.from_url(
        _url(url),
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=30,
    )


def reset_pools() -> None:
    """Drop this process's pools (after the Redis URL changed, e.g. in tests)."""
    with _lock:
        for pool in _sync_pools.values():
            pool.disconnect()
        _sync_pools.clear()
