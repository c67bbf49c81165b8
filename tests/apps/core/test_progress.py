"""Long tasks report progress: a real worker runs the lake flush and its PROGRESS state is
stored in the result backend, where Flower and AsyncResult read it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from apps.core.progress import PROGRESS, task_progress
from apps.core.redis import get_redis
from tests.factories import quote, trade, write


class RecordingTask:
    """Stands in for the Celery task object the callback reports to."""

    def __init__(self) -> None:
        self.request = type("Request", (), {"id": "task-1"})()
        self.states: list[tuple[str, dict[str, Any]]] = []

    def update_state(self, *, state: str, meta: dict[str, Any]) -> None:
        self.states.append((state, meta))


def test_progress_is_throttled_and_always_reports_the_end() -> None:
    task = RecordingTask()
    report = task_progress(task, what="rows", every_seconds=60)
    for done in range(1, 11):
        report(done, 10)
    assert task.states == [
        (PROGRESS, {"what": "rows", "done": 1, "total": 10, "percent": 10.0}),
        (PROGRESS, {"what": "rows", "done": 10, "total": 10, "percent": 100.0}),
    ]


@pytest.mark.slow
def test_the_flush_task_reports_progress_through_a_real_worker(
    celery_worker: Any, tmp_path: Path, settings: Any
) -> None:
    from apps.storage.tasks import flush_streams

    settings.LAKE_DIR = tmp_path

    write([[trade(0, 6000.0, seq=1)], [quote(0, 21000.0, 21000.25, symbol="NQZ26")]])
    # The Redis result backend publishes every state a task stores on the task's meta key.
    task_id = str(uuid.uuid4())
    pubsub = get_redis().pubsub()
    pubsub.subscribe(f"celery-task-meta-{task_id}")
    assert pubsub.get_message(timeout=2) is not None  # the subscription confirmation
    assert flush_streams.apply_async(queue="flush", task_id=task_id).get(timeout=60)["rows"] == 2
    states = []
    while (message := pubsub.get_message(timeout=2)) is not None:
        states.append(json.loads(message["data"]))
    pubsub.close()
    progress = [state for state in states if state["status"] == PROGRESS]
    assert progress, [state["status"] for state in states]
    assert progress[-1]["result"] == {"what": "streams flushed", "done": 2, "total": 2, "percent": 100.0}
    assert states[-1]["status"] == "SUCCESS"
