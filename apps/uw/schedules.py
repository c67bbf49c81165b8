"""UW's periodic tasks (seeded by `manage.py setup_periodic_tasks`, edited in the admin)."""

from __future__ import annotations

from apps.core.queues import Queue
from apps.core.schedules import ScheduleSpec, register_schedule

MARKET_TIDE = register_schedule(
    ScheduleSpec(
        name="uw: market tide",
        task="apps.uw.tasks.uw_market_tide_poll",
        every_seconds=60,
        queue=Queue.DEFAULT,
        description="Fetches the market tide (net call/put premium per minute) from Unusual Whales into uw:market_agg.",
    )
)
