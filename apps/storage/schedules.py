"""The lake's periodic tasks (seeded by `manage.py setup_periodic_tasks`, edited in the admin)."""

from __future__ import annotations

from apps.core.queues import Queue
from apps.core.schedules import Crontab, ScheduleSpec, register_schedule

FLUSH = register_schedule(
    ScheduleSpec(
        name="storage: flush hot streams to the lake",
        task="apps.storage.tasks.flush_streams",
        every_seconds=60,
        queue=Queue.FLUSH,
        description="Moves new market data from Redis streams into the Parquet lake, exactly once.",
    )
)

PURGE = register_schedule(
    ScheduleSpec(
        name="storage: retention purge",
        task="apps.storage.tasks.purge",
        # 17:15 New York, Monday to Friday: after CME equity futures close at 17:00 for the day.
        crontab=Crontab(minute="15", hour="17", day_of_week="mon-fri"),
        replaces_every_seconds=24 * 3600,
        queue=Queue.FLUSH,
        description=(
            "Removes lake files and Redis stream ranges past their retention policy; audited under Purge runs. "
            "Runs at 17:15 New York on weekdays, after the 17:00 close."
        ),
    )
)

COMPACT = register_schedule(
    ScheduleSpec(
        name="storage: compact closed partitions",
        task="apps.storage.tasks.compact",
        # 17:30 New York, Monday to Friday: after the close and the purge, before the 18:00 open.
        crontab=Crontab(minute="30", hour="17", day_of_week="mon-fri"),
        replaces_every_seconds=24 * 3600,
        queue=Queue.FLUSH,
        description=(
            "Merges the small files flushes leave in each closed (past) day's partition. "
            "Runs at 17:30 New York on weekdays, after the close and the purge."
        ),
    )
)
