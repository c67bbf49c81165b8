"""The default periodic tasks. Apps add theirs with `register_schedule` in `AppConfig.ready()`;
`manage.py setup_periodic_tasks` (run by the run command) seeds them into django-celery-beat,
where the admin edits them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from apps.core.queues import Queue


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    task: str
    every_seconds: int
    queue: Queue
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def expire_seconds(self) -> int:
        # A message older than 1.5 intervals is stale: a backlog runs the task once, not N times.
        return max(1, math.ceil(self.every_seconds * 1.5))


_SCHEDULES: dict[str, ScheduleSpec] = {}


def register_schedule(spec: ScheduleSpec) -> ScheduleSpec:
    _SCHEDULES[spec.name] = spec
    return spec


def all_schedules() -> list[ScheduleSpec]:
    return sorted(_SCHEDULES.values(), key=lambda spec: spec.name)


register_schedule(
    ScheduleSpec(
        name="core: beat heartbeat",
        task="apps.core.tasks.beat_heartbeat",
        every_seconds=15,
        queue=Queue.DEFAULT,
        description="Records that beat and a worker are alive (read by the health checks).",
    )
)
