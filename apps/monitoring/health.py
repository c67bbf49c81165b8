"""The health model: a `HealthCheck` says whether one dependency works, and `checks_run` runs a
set of them concurrently, each bounded by its own timeout, so one hung dependency cannot hang
/health/ready or /health/detailed: its check reports "failed: no answer within N s" and the
others answer."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from django.db import connections

# An endpoint never waits longer than the slowest timeout plus this much.
GRACE_SECONDS = 0.25


class Status(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"

    @property
    def level(self) -> int:
        """2 ok, 1 degraded, 0 failed (the value of `pipeline_health_check_status`)."""
        return {Status.OK: 2, Status.DEGRADED: 1, Status.FAILED: 0}[self]


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str


class HealthCheck(Protocol):
    """One dependency's check. `check()` may block (a socket, a query) but should bound its own
    waits; the runner gives up on it after `timeout` seconds either way."""

    @property
    def name(self) -> str: ...

    @property
    def critical(self) -> bool:
        """Critical checks decide readiness: the process cannot serve without them."""
        ...

    @property
    def timeout(self) -> float: ...

    def check(self) -> Outcome: ...


@dataclass(frozen=True)
class CheckResult:
    name: str
    critical: bool
    status: Status
    detail: str
    seconds: float

    @property
    def ok(self) -> bool:
        """Not failed (a degraded dependency still serves)."""
        return self.status != Status.FAILED


def _run_one(check: HealthCheck, box: list[tuple[Outcome, float]]) -> None:
    started = time.perf_counter()
    try:
        outcome = check.check()
    except Exception as error:  # noqa: BLE001 - a check reports any failure, it never crashes the endpoint
        outcome = Outcome(Status.FAILED, f"{type(error).__name__}: {error}")
    try:
        box.append((outcome, round(time.perf_counter() - started, 4)))
    finally:
        # Each check runs in its own thread; a database check opened that thread's connection.
        connections.close_all()


def checks_run(checks: list[HealthCheck]) -> list[CheckResult]:
    """Run `checks` at once, in daemon threads; a check that has not answered by its timeout is
    reported failed (its thread is left to finish or die on its own)."""
    started = time.perf_counter()
    running: list[tuple[HealthCheck, threading.Thread, list[tuple[Outcome, float]]]] = []
    for check in checks:
        box: list[tuple[Outcome, float]] = []
        thread = threading.Thread(target=_run_one, args=(check, box), name=f"health-{check.name}", daemon=True)
        thread.start()
        running.append((check, thread, box))
    results = []
    for check, thread, box in running:
        thread.join(max(0.0, started + check.timeout - time.perf_counter()))
        outcome, seconds = (
            box[0] if box else (Outcome(Status.FAILED, f"no answer within {check.timeout:g} s"), check.timeout)
        )
        results.append(CheckResult(check.name, check.critical, outcome.status, outcome.detail, seconds))
    return results


def overall(results: list[CheckResult]) -> Status:
    """Failed if a critical check failed; degraded if any other check is not ok; else ok."""
    if any(result.critical and result.status == Status.FAILED for result in results):
        return Status.FAILED
    if any(result.status != Status.OK for result in results):
        return Status.DEGRADED
    return Status.OK
