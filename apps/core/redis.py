"""Redis connections: one pooled client per URL and process, sync and asyncio.

Everything that talks to Redis gets its client here, so pool sizes, timeouts and decoding are
decided once. The hot store (market-data streams and last values, GEX and UW streams, the flush's
checkpoints and locks) has clients of its own, `get_hot_redis` and `get_async_hot_redis`: a
Redis Cluster when `REDIS_CLUSTER_URLS` names its seed nodes, else the same Redis as the rest.
The broker, runtime configuration, locks, process status and monitoring records stay on
REDIS_URL either way.
"""

from __future__ import annotations

import os
import threading
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from django.conf import settings

_lock = threading.Lock()
# One client per pool: a redis.Redis is thread-safe over its pool, and building one costs more
# than the GET it sends (its response-callback table is filled per instance).
_sync_clients: dict[tuple[int, str], redis.Redis] = {}
_sync_clusters: dict[tuple[int, tuple[str, ...]], redis.cluster.RedisCluster] = {}

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


def cluster_urls() -> tuple[str, ...]:
    """The hot store's Redis Cluster seed nodes (REDIS_CLUSTER_URLS); empty when it is one Redis."""
    return tuple(getattr(settings, "REDIS_CLUSTER_URLS", None) or ())


def _cluster_options(urls: tuple[str, ...]) -> dict[str, Any]:
    """Seed nodes and credentials for a cluster client (the first URL with a user or password
    gives them: every node of one cluster takes the same)."""
    nodes: list[tuple[str, int]] = []
    options: dict[str, Any] = {}
    for url in urls:
        parts = urlsplit(url)
        nodes.append((parts.hostname or "127.0.0.1", parts.port or 6379))
        if parts.password is not None and "password" not in options:
            options["password"] = unquote(parts.password)
            if parts.username:
                options["username"] = unquote(parts.username)
        if parts.scheme == "rediss":
            options["ssl"] = True
    return {"nodes": nodes, **options}


def get_hot_redis(url: str | None = None) -> redis.Redis:
    """The hot store's client on this process: a `redis.cluster.RedisCluster` when
    REDIS_CLUSTER_URLS is set, else `get_redis(url)`.

    Typed as `redis.Redis`: every hot-store call names keys of one symbol (one hash tag, one
    slot), which the cluster client routes to the slot's node; scans run on every primary."""
    urls = cluster_urls()
    if not urls:
        return get_redis(url)
    key = (os.getpid(), urls)
    with _lock:
        client = _sync_clusters.get(key)
        if client is None:
            options = _cluster_options(urls)
            client = redis.cluster.RedisCluster(
                startup_nodes=[redis.cluster.ClusterNode(host, port) for host, port in options.pop("nodes")],
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=CONNECT_TIMEOUT,
                health_check_interval=30,
                **options,
            )
            _sync_clusters[key] = client
    return cast(redis.Redis, client)


def get_async_hot_redis(url: str | None = None, **connection: Any) -> redis.asyncio.Redis:
    """An asyncio client of the hot store for the running event loop (a
    `redis.asyncio.cluster.RedisCluster` when REDIS_CLUSTER_URLS is set); `connection` overrides
    the timeouts. Close it with `await client.aclose()`."""
    connection = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "health_check_interval": 30,
        **connection,
    }
    urls = cluster_urls()
    if not urls:
        return redis.asyncio.Redis.from_url(_url(url), **connection)
    options = _cluster_options(urls)
    client = redis.asyncio.cluster.RedisCluster(
        startup_nodes=[redis.asyncio.cluster.ClusterNode(host, port) for host, port in options.pop("nodes")],
        **options,
        **connection,
    )
    return cast(redis.asyncio.Redis, client)


def is_cluster(client: object) -> bool:
    """Whether `client` is a Redis Cluster client (sync or asyncio)."""
    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.cluster.RedisCluster)


def reset_pools() -> None:
    """Drop this process's pools (after the Redis URL changed, e.g. in tests)."""
    with _lock:
        for client in _sync_clients.values():
            client.connection_pool.disconnect()
        _sync_clients.clear()
        for cluster in _sync_clusters.values():
            cluster.close()
        _sync_clusters.clear()
