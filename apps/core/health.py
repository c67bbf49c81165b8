"""Readiness checks: does each dependency this process needs answer right now?"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection

from apps.core import keys
from apps.core.codec import text


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float
    # Ready, but something needs a person soon (a broker login that ends within a day).
    warning: bool = False


class ReadinessWarning(Exception):  # noqa: N818 - a report, not a failure
    """Raised by a probe whose dependency works but needs attention soon: ready, with a warning."""


# Checks other apps add (core imports none of them): name -> probe returning a detail line.
_REGISTERED: dict[str, Callable[[], str]] = {}


def register_readiness_check(name: str, probe: Callable[[], str]) -> None:
    """Add a check to /health/ready; the probe returns a detail, raises ReadinessWarning to
    warn, and raises anything else to fail."""
    _REGISTERED[name] = probe


def _timed(name: str, probe: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except ReadinessWarning as warning:
        return CheckResult(name, True, str(warning), round(time.perf_counter() - started, 4), warning=True)
    except Exception as error:  # noqa: BLE001 - a probe reports any failure, it never crashes
        detail, ok = f"{type(error).__name__}: {error}", False
    return CheckResult(name, ok, detail, round(time.perf_counter() - started, 4))


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _redis() -> str:
    # A short-timeout client of its own: a readiness probe must answer fast even when Redis hangs.
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        client.ping()
    finally:
        client.close()
    return "PONG"


class LakeFlushFailingError(Exception):
    """The last flush run could not write the lake."""


def _lake_flush() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        record = {text(k): text(v) for k, v in client.hgetall(keys.LAKE_FLUSH_HEALTH).items()}
    except redis.RedisError:
        return "not known: Redis does not answer"  # the redis check names that failure
    finally:
        client.close()
    if record.get("failing") == "1":
        raise LakeFlushFailingError(f"the last flush, at {record.get('failed_at')}, failed: {record.get('error')}")
    return f"last flush ok at {record['ok_at']}" if record.get("ok_at") else "no flush yet"


def readiness_checks() -> list[CheckResult]:
    checks = [_timed("database", _database), _timed("redis", _redis), _timed("lake_flush", _lake_flush)]
    return checks + [_timed(name, probe) for name, probe in _REGISTERED.items()]
