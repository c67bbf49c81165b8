from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from apps.core.heartbeat import beat_last_run
from apps.core.tasks import beat_heartbeat

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # any instant: the heartbeat records when it ran


@pytest.mark.slow
def test_heartbeat_runs_in_a_real_worker_and_is_readable(celery_worker: Any) -> None:
    assert beat_last_run() is None
    with time_machine.travel(NOW):  # the worker is a thread of this process: it sees the same clock
        result = beat_heartbeat.delay().get(timeout=30)
    last = beat_last_run()
    assert last is not None
    assert last.isoformat() == result["recorded_at"]
    assert NOW <= last < NOW + timedelta(minutes=1)
