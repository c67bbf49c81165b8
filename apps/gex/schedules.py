"""GEX's periodic tasks (seeded by `manage.py setup_periodic_tasks`, edited in the admin)."""

from __future__ import annotations

from apps.core.queues import Queue
from apps.core.schedules import ScheduleSpec, register_schedule

POLL = register_schedule(
    ScheduleSpec(
        name="gex: poll",
        task="apps.gex.tasks.gex_poll",
        every_seconds=1,
        queue=Queue.GEX,
        kwargs={"group": "default"},
        description="Polls what is due of gex.tickers and gex.categories at the session's interval (gex.intervals).",
    )
)

POLL_NQ = register_schedule(
    ScheduleSpec(
        name="gex: poll NQ",
        task="apps.gex.tasks.gex_poll",
        every_seconds=1,
        queue=Queue.GEX,
        kwargs={"group": "nq"},
        description="The NQ poller: gex.nq_tickers on its own intervals (gex.nq_intervals).",
    )
)

TICKERS = register_schedule(
    ScheduleSpec(
        name="gex: refresh tickers",
        task="apps.gex.tasks.gex_tickers_refresh",
        every_seconds=3600,
        queue=Queue.GEX,
        description="Refreshes the list of tickers the GEX source serves (GEXBot's /tickers).",
    )
)
