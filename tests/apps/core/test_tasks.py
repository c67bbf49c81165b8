from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from apps.core.clock import utc_now
from apps.core.heartbeat import beat_last_run
from apps.core.tasks import beat_heartbeat


@pytest.mark.slow
def test_heartbeat_runs_in_a_real_worker_and_is_readable(celery_worker: Any) -> None:
    assert beat_last_run() is None
    result = beat_heartbeat.delay().get(timeout=30)
    last = beat_last_run()
    assert last is not None
    assert last.isoformat() == result["recorded_at"]
    assert utc_now() - last < timedelta(minutes=1)
