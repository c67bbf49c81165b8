"""The default periodic tasks. Apps add theirs with `register_schedule` in `AppConfig.ready()`;
`manage.py setup_periodic_tasks` (run by the run command) seeds them into django-celery-beat,
where the admin edits them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from apps.core.queues import Queue


@dataclass(frozen=True)
class Crontab:
    """A time of day (in `timezone`, New York unless said) on the given days, as cron writes it."""

    minute: str
    hour: str
    day_of_week: str = "*"
    timezone: str = "America/New_York"


# A crontab task's message is stale after an hour: a beat that was down runs it once, late.
CRONTAB_EXPIRE_SECONDS = 3600


@dataclass(frozen=True)
class ScheduleSpec:
    """A periodic task: every `every_seconds`, or at the time `crontab` says (exactly one)."""

    name: str
    task: str
    queue: Queue
    description: str
    every_seconds: int | None = None
    crontab: Crontab | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    # A row seeded by earlier code with this interval and never edited moves to `crontab`.
    replaces_every_seconds: int | None = None

    def __post_init__(self) -> None:
        if (self.every_seconds is None) == (self.crontab is None):
            raise ValueError(f"schedule {self.name!r}: give every_seconds or crontab, exactly one")

    @property
    def expire_seconds(self) -> int:
        if self.every_seconds is None:
            return CRONTAB_EXPIRE_SECONDS
        # A message older than 1.5 intervals is stale: a backlog runs the task once, not N times.
        return max(1, math.ceil(self.every_seconds * 1.5))


# Names of schedules earlier versions seeded that no longer exist: seeding deletes their rows.
_RETIRED: set[str] = set()


_SCHEDULES: dict[str, ScheduleSpec] = {}


def register_schedule(spec: ScheduleSpec) -> ScheduleSpec:
    _SCHEDULES[spec.name] = spec
    return spec


def all_schedules() -> list[ScheduleSpec]:
    return sorted(_SCHEDULES.values(), key=lambda spec: spec.name)


def retire_schedule(name: str) -> None:
    """A schedule earlier code seeded and this code replaces: its row is deleted when seeding."""
    _RETIRED.add(name)


def retired_schedules() -> set[str]:
    return set(_RETIRED)


register_schedule(
    ScheduleSpec(
        name="core: beat heartbeat",
        task="apps.core.tasks.beat_heartbeat",
        every_seconds=15,
        queue=Queue.DEFAULT,
        description="Records that beat and a worker are alive (read by the health checks).",
    )
)
