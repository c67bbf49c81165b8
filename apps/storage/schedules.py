"""The lake's periodic tasks (seeded by `manage.py setup_periodic_tasks`, edited in the admin)."""

from __future__ import annotations

from apps.core.queues import Queue
from apps.core.schedules import ScheduleSpec, register_schedule

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
        every_seconds=24 * 3600,
        queue=Queue.FLUSH,
        description="Removes lake files and Redis stream ranges past their retention policy; audited under Purge runs.",
    )
)

COMPACT = register_schedule(
    ScheduleSpec(
        name="storage: compact closed partitions",
        task="apps.storage.tasks.compact",
        every_seconds=24 * 3600,
        queue=Queue.FLUSH,
        description="Merges the small files flushes leave in each closed (past) day's partition.",
    )
)
