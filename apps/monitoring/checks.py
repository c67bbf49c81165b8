"""The platform's health checks: one class per dependency, each a `HealthCheck`.

Every check opens its own short-timeout client rather than the process's pools, so a probe
answers fast even when a pool's sockets hang, and leaves nothing behind.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import redis
from django.conf import settings
from django.db import DatabaseError

from apps.core import health as core_health
from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text
from apps.core.queues import Queue
from apps.core.runtime_config import runtime_value
from apps.core.sessions import Session, session_at
from apps.marketdata.runtime_settings import DISABLED_STREAMERS
from apps.monitoring import store
from apps.monitoring.health import Outcome, Status
from apps.monitoring.runtime_settings import (
    ALWAYS_OPEN_FEEDS,
    BEAT_STALE_SECONDS,
    FEED_STALE_SECONDS,
    LAKE_MIN_FREE_RATIO,
)
from apps.storage.registry import lake_tables

PROBE_TIMEOUT = 1.0
GEXBOT_BREAKER = "gexbot"


@contextmanager
def probe_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT
    )
    try:
        yield client
    finally:
        client.close()


def _ok(detail: str) -> Outcome:
    return Outcome(Status.OK, detail)


def _degraded(detail: str) -> Outcome:
    return Outcome(Status.DEGRADED, detail)


def _failed(detail: str) -> Outcome:
    return Outcome(Status.FAILED, detail)


@dataclass(frozen=True)
class RedisCheck:
    name: str = "redis"
    critical: bool = True
    timeout: float = 2.0

    def check(self) -> Outcome:
        return _ok(core_health.redis_probe())


@dataclass(frozen=True)
class DatabaseCheck:
    name: str = "database"
    critical: bool = True
    timeout: float = 3.0

    def check(self) -> Outcome:
        return _ok(core_health.database_probe())


@dataclass(frozen=True)
class ReadinessProbeCheck:
    """A probe another app registered with the core's readiness hook (broker token expiry): its
    ReadinessWarning is `degraded` (ready, with a warning), any other error `failed`."""

    name: str
    probe: Callable[[], str]
    critical: bool = True
    timeout: float = 3.0

    def check(self) -> Outcome:
        try:
            return _ok(self.probe())
        except core_health.ReadinessWarning as warning:
            return Outcome(Status.DEGRADED, str(warning))
        except DatabaseError as error:
            # The database check fails for this; this one cannot tell, and says so.
            return Outcome(Status.DEGRADED, f"cannot tell while the database does not answer ({type(error).__name__})")


def readiness_probe_checks() -> list[ReadinessProbeCheck]:
    return [ReadinessProbeCheck(name, probe) for name, probe in core_health.registered_readiness_probes().items()]


@dataclass(frozen=True)
class LakeFlushCheck:
    name: str = "lake_flush"
    critical: bool = True
    timeout: float = 2.0

    def check(self) -> Outcome:
        return _ok(core_health.lake_flush_probe())


@dataclass(frozen=True)
class LakeDirectoryCheck:
    """The lake directory takes a file, and its disk has room."""

    name: str = "lake"
    critical: bool = True
    timeout: float = 2.0

    def check(self) -> Outcome:
        lake = Path(settings.LAKE_DIR)
        probe = lake / f".health-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            return _failed(f"{lake} cannot be written: {type(error).__name__}: {error.strerror or error}")
        usage = shutil.disk_usage(lake)
        free = usage.free / usage.total if usage.total else 0.0
        minimum = float(runtime_value(LAKE_MIN_FREE_RATIO.key))
        detail = f"{lake} writable, {free:.1%} of {usage.total / 2**30:.1f} GiB free"
        if free < minimum / 5:
            return _failed(detail)
        return _degraded(detail) if free < minimum else _ok(detail)


@dataclass(frozen=True)
class DuckDBCheck:
    """DuckDB opens the lake's views and answers a query."""

    name: str = "duckdb"
    critical: bool = False
    timeout: float = 5.0

    def check(self) -> Outcome:
        lake = Path(settings.LAKE_DIR)
        connection = duckdb.connect()
        try:
            tables = [table.name for table in lake_tables() if any((lake / table.name).rglob("*.parquet"))]
            for table in tables:
                source = f"read_parquet('{lake / table / '**' / '*.parquet'}', hive_partitioning = true)"
                connection.execute(f"select count(*) from (select * from {source} limit 1)").fetchone()  # noqa: S608 - names from the registry
            connection.execute("select 1").fetchone()
        finally:
            connection.close()
        return _ok(f"duckdb {duckdb.__version__}; tables with files: {', '.join(tables) or 'none yet'}")


@dataclass(frozen=True)
class CeleryQueueCheck:
    """Some live worker consumes this queue (workers refresh their record; a killed one expires)."""

    queue: str
    critical: bool = False
    timeout: float = 2.0

    @property
    def name(self) -> str:
        return f"celery:{self.queue}"

    def check(self) -> Outcome:
        with probe_redis() as client:
            workers = store.workers_by_queue(client=client).get(self.queue, [])
        if not workers:
            return _failed(f"no live worker consumes queue {self.queue}")
        return _ok(f"{len(workers)} worker(s): {', '.join(workers)}")


@dataclass(frozen=True)
class BeatCheck:
    """Beat sends the heartbeat task every 15 s and a worker runs it: a recent one means both work."""

    name: str = "beat"
    critical: bool = False
    timeout: float = 2.0

    def check(self) -> Outcome:
        with probe_redis() as client:
            raw = client.get(keys.BEAT_LAST_RUN)
            leader = client.exists(keys.BEAT_LOCK)
        if not raw:
            return _failed("no beat heartbeat recorded yet")
        age = (utc_now() - datetime.fromisoformat(text(raw))).total_seconds()
        limit = float(runtime_value(BEAT_STALE_SECONDS.key))
        detail = f"last heartbeat {age:.0f} s ago; {'a beat holds the lease' if leader else 'no beat holds the lease'}"
        return _failed(detail) if age > limit else _ok(detail)


def market_open(*, feed: str, moment: datetime) -> bool:
    """Whether `feed`'s market trades at `moment` (regular or extended hours of the calendar)."""
    if feed in runtime_value(ALWAYS_OPEN_FEEDS.key):
        return True
    return session_at(moment) != Session.CLOSED


def streamer_expected(feed: str) -> bool:
    """Whether `feed` must run: its feature switch (`UW_ENABLED`, `SCHWAB_ENABLED`, ...) is on.
    Feeds without one (the simulator, replay) run on demand: judged only while they run."""
    return bool(getattr(settings.ENV, f"{feed.upper()}_ENABLED", False))


RUNNING_STATES = frozenset({"starting", "connecting", "connected", "reconnecting", "store_down"})


@dataclass(frozen=True)
class StreamerCheck:
    """A running streamer is connected and hears its feed while its market is open; one whose
    feature switch is on must be running then. Out of session a silent, idle or stopped feed is
    fine: the market is closed, not the feed stale."""

    feed: str
    critical: bool = False
    timeout: float = 2.0

    @property
    def name(self) -> str:
        return f"streamer:{self.feed}"

    def check(self) -> Outcome:
        if self.feed in runtime_value(DISABLED_STREAMERS.key):
            return _ok("switched off")
        with probe_redis() as client:
            status = {text(k): text(v) for k, v in client.hgetall(keys.streamer(self.feed)).items()}
        now = utc_now()
        in_session = market_open(feed=self.feed, moment=now)
        session = "market open" if in_session else f"market closed ({session_at(now)} session)"
        state = status.get("state", "not running")
        if state not in RUNNING_STATES:
            detail = f"{state}; {session}"
            if in_session and streamer_expected(self.feed):
                return _failed(f"{detail}; {self.feed.upper()}_ENABLED is on")
            return _ok(detail)
        return _running_judged(state=state, status=status, now=now, in_session=in_session, session=session)


def _running_judged(*, state: str, status: dict[str, str], now: datetime, in_session: bool, session: str) -> Outcome:
    last_ms = status.get("last_message_ms")
    age = now.timestamp() - int(last_ms) / 1000 if last_ms else None
    heard = f"last message {age:.0f} s ago" if age is not None else "no message yet"
    detail = f"{state}, {heard}; {session}"
    if not in_session:
        return _ok(detail)
    if state != "connected":
        return _failed(detail)
    if age is None or age > float(runtime_value(FEED_STALE_SECONDS.key)):
        return _failed(f"stale: {detail}")
    return _ok(detail)


def breaker_state_stored(*, client: redis.Redis, breaker: str) -> str:
    """A shared circuit breaker's state as pybreaker keeps it in Redis (`closed` when unset)."""
    raw = client.get(f"{keys.gex_breaker(breaker)}:pybreaker:state")
    return text(raw) if raw else "closed"


@dataclass(frozen=True)
class GEXBotCheck:
    """GEXBot's circuit breaker, shared by every worker: open means the API is failing."""

    name: str = "gexbot"
    critical: bool = False
    timeout: float = 2.0

    def check(self) -> Outcome:
        if not settings.GEXBOT_ENABLED:
            return _ok("GEXBot off (GEXBOT_ENABLED=false): the simulated source serves")
        with probe_redis() as client:
            state = breaker_state_stored(client=client, breaker=GEXBOT_BREAKER)
        if state == "open":
            return _failed("breaker open: GEXBot failed repeatedly; polls are skipped until it half-opens")
        if state == "half-open":
            return _degraded("breaker half-open: a trial call decides")
        return _ok("breaker closed")


def queue_checks() -> list[CeleryQueueCheck]:
    return [CeleryQueueCheck(queue) for queue in Queue.all_names()]
