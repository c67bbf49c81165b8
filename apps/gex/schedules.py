"""GEX's periodic tasks (seeded by `manage.py setup_periodic_tasks`, edited in the admin)."""

from __future__ import annotations

from apps.core.queues import Queue
from apps.core.schedules import ScheduleSpec, register_schedule, retire_schedule

# Until this version beat sent a poll task every second per group, mostly finding nothing due.
retire_schedule("gex: poll")
retire_schedule("gex: poll NQ")

POLL = register_schedule(
    ScheduleSpec(
        name="gex: poll keeper",
        task="apps.gex.tasks.gex_poll_keep",
        every_seconds=60,
        queue=Queue.GEX,
        kwargs={"group": "default"},
        description=(
            "Keeps the poll chain of gex.tickers and gex.categories alive: each poll sends the next for when "
            "something falls due at the session's interval (gex.intervals); this starts one when none runs."
        ),
    )
)

POLL_NQ = register_schedule(
    ScheduleSpec(
        name="gex: poll keeper NQ",
        task="apps.gex.tasks.gex_poll_keep",
        every_seconds=60,
        queue=Queue.GEX,
        kwargs={"group": "nq"},
        description="The NQ poller's keeper: gex.nq_tickers on their own intervals (gex.nq_intervals).",
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
