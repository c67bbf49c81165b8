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
# One client per pool: a redis.Redis is thread-safe over its pool, and building one costs more
# than the GET it sends (its response-callback table is filled per instance).
_sync_clients: dict[tuple[int, str], redis.Redis] = {}

SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 2.0


def _url(url: str | None) -> str:
    return url or settings.REDIS_URL


def get_redis(url: str | None = None) -> redis.Redis:
    """A client on this process's pool for `url` (default: settings.REDIS_URL); bytes replies."""
    key = (os.getpid(), _url(url))  # a forked worker child must not reuse its parent's sockets
    client = _sync_clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _sync_clients.get(key)
        if client is None:
            pool = redis.ConnectionPool.from_url(
                key[1],
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=CONNECT_TIMEOUT,
                health_check_interval=30,
            )
            client = _sync_clients[key] = redis.Redis(connection_pool=pool)
    return client


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
        for client in _sync_clients.values():
            client.connection_pool.disconnect()
        _sync_clients.clear()
