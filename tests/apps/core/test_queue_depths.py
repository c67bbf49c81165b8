"""Tasks waiting per Celery queue, read from the Redis broker whatever their priority."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from apps.core.exceptions import UnavailableError
from apps.core.queue_depths import queue_depths
from apps.core.queues import Queue
from apps.storage.tasks import flush_streams


def test_every_queue_is_listed_with_the_tasks_waiting_at_every_priority() -> None:
    assert queue_depths() == [(name, 0) for name in Queue.all_names()]
    flush_streams.delay()
    flush_streams.apply_async(priority=9)
    flush_streams.apply_async(priority=4)
    depths = dict(queue_depths())
    assert depths.pop("flush") == 3
    assert set(depths.values()) == {0}


def test_a_broker_that_is_not_redis_is_unavailable_with_the_reason(settings: Settings) -> None:
    settings.CELERY_BROKER_URL = "amqp://guest@127.0.0.1:5672//"
    with pytest.raises(UnavailableError, match="read from a Redis broker, not amqp"):
        queue_depths()
