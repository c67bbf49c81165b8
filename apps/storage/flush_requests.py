"""A lake flush asked for now (REST control endpoint, later the bot) instead of at the next beat:
the same task beat schedules."""

from __future__ import annotations

from typing import Any


def flush_enqueue() -> dict[str, Any]:
    """Queue one run of the lake flush (the same task beat schedules); returns its task id."""
    # Imported here: tasks import the Celery app, which readers of this module do not need.
    from apps.storage.tasks import flush_streams

    result = flush_streams.delay()
    return {"task_id": result.id}
