"""The Celery queues, one per workload, and which app's tasks go to which queue."""

from __future__ import annotations

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"
    GEX = "gex"
    FLUSH = "flush"
    ALERTS = "alerts"
    BATCH = "batch"

    @classmethod
    def routes(cls) -> list[tuple[str, Queue]]:
        """(app label, queue) pairs: every task defined in `apps.<label>.tasks` runs on that queue.

        Tasks of apps not listed here run on `default`.
        """
        return [
            ("gex", cls.GEX),
            ("storage", cls.FLUSH),
            ("alerts", cls.ALERTS),
            ("batch", cls.BATCH),
        ]

    @classmethod
    def all_names(cls) -> list[str]:
        return [queue.value for queue in cls]
