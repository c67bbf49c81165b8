"""The alerts app's periodic task (seeded by `manage.py setup_periodic_tasks`, edited in the admin)."""

from __future__ import annotations

from apps.core.queues import Queue
from apps.core.schedules import ScheduleSpec, register_schedule

DELIVER = register_schedule(
    ScheduleSpec(
        name="alerts: deliver",
        task="apps.alerts.tasks.alerts_deliver",
        every_seconds=30,
        queue=Queue.ALERTS,
        description="Sends alert deliveries that are due (retries, test-fires) when no alert engine is running "
        "to send them; the engine's own pump claims the same rows, so none is sent twice.",
    )
)
