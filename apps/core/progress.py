"""Progress of long Celery tasks, visible in Flower and through AsyncResult while they run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

PROGRESS = "PROGRESS"


def task_progress(task: Any, *, what: str, every_seconds: float = 1.0) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback for services, reporting as the task's PROGRESS state
    (`{"what", "done", "total", "percent"}`) at most every `every_seconds`, and always at the end."""
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last < every_seconds:
            return
        last = now
        if getattr(task.request, "id", None):
            percent = round(100 * done / total, 1) if total else 100.0
            task.update_state(state=PROGRESS, meta={"what": what, "done": done, "total": total, "percent": percent})

    return report
