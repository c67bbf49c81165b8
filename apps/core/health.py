"""Readiness checks: does each dependency this process needs answer right now?"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


def _timed(name: str, probe: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = probe()
        ok = True
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


def readiness_checks() -> list[CheckResult]:
    return [_timed("database", _database), _timed("redis", _redis)]
