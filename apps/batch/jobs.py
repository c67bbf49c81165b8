"""Job kinds: the base class every batch job derives from, and the registry of kinds.

A kind's lifecycle is plan → run units → finish:

- `parse_params` checks the user's `k=v` parameters (BadInputError naming the parameter);
- `plan` looks at the sources and cuts the work into units (a day of a file, a history day),
  each with its own parameters and a weight (its share of the progress total);
- `run_unit` does one unit. It must be idempotent: run twice (a retry, a resume after a killed
  worker) it leaves the lake as once, neither losing nor doubling rows;
- `finish` runs once when every unit is done (e.g. it advances a file's import checkpoint).

Apps register their kinds with `job_kind_register` in their `AppConfig.ready()`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from apps.batch.report import JobReport
from apps.core.exceptions import ApplicationError, BadInputError


class JobError(ApplicationError):
    """A unit or a plan that cannot be done as it is (bad file, nothing to do); the message names
    the file, the byte offset or record index and the reason. Retrying will not help."""


@dataclass(frozen=True)
class UnitPlan:
    label: str
    params: dict[str, Any]
    weight: int = 1


@dataclass
class Plan:
    units: list[UnitPlan]
    report: JobReport = field(default_factory=JobReport)


Progress = Callable[[int], None]


@dataclass(frozen=True)
class UnitMessage:
    task: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None


class JobKind(ABC):
    """Base class of a job kind; subclasses set `name`, `help` and `progress_unit`."""

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    progress_unit: ClassVar[str] = "units"
    # Errors worth another attempt (network, Redis): the unit stays queued and the task that
    # runs it retries (Celery autoretry); anything else fails the unit and the job.
    retryable: ClassVar[tuple[type[BaseException], ...]] = ()

    def parse_params(self, *, params: dict[str, str]) -> dict[str, Any]:
        """The parameters as the job stores them; BadInputError naming a bad or unknown one."""
        if params:
            raise BadInputError(next(iter(params)), f"job kind {self.name} takes no parameter {next(iter(params))!r}")
        return {}

    @abstractmethod
    def plan(self, *, params: dict[str, Any]) -> Plan:
        """The units of the job (JobError when there is nothing to do or a source is bad)."""

    @abstractmethod
    def run_unit(self, *, params: dict[str, Any], unit: dict[str, Any], progress: Progress, attempt: int) -> JobReport:
        """Do one unit, idempotently; `progress(done)` within the unit's weight. `attempt` counts
        from 1 (retries and resumes included)."""

    def unit_message(self, *, unit_id: int, token: str, unit: dict[str, Any]) -> UnitMessage:
        """The Celery task that runs a unit: the batch runner's, unless a kind keeps its own
        (GEX history keeps the task name its queued messages and tests know)."""
        return UnitMessage(task="apps.batch.tasks.run_unit", args=(unit_id, token))

    def finish(self, *, params: dict[str, Any], units: list[dict[str, Any]], report: JobReport) -> None:  # noqa: B027
        """Once every unit is done (the units' parameters in order); a kind with nothing to do
        at the end keeps this one."""


_kinds: dict[str, JobKind] = {}
_lock = threading.Lock()


def job_kind_register(kind: JobKind) -> JobKind:
    """Add a kind (registering the same class again does nothing)."""
    with _lock:
        current = _kinds.get(kind.name)
        if current is not None and type(current) is not type(kind):
            raise ValueError(f"job kind {kind.name!r} is already registered by {type(current).__name__}")
        _kinds[kind.name] = kind
    return kind


def job_kind(name: str) -> JobKind:
    with _lock:
        kind = _kinds.get(name)
        known = ", ".join(sorted(_kinds))
    if kind is None:
        raise BadInputError("kind", f"unknown job kind {name!r}; known: {known}")
    return kind


def job_kinds() -> list[JobKind]:
    with _lock:
        return sorted(_kinds.values(), key=lambda kind: kind.name)
