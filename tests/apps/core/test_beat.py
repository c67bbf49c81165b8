"""Two beat processes against one schedule send each periodic task once per period, and the
standby takes over when the leader dies."""

from __future__ import annotations

import json
import math
import os
import signal
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core import keys
from apps.core.redis import get_redis
from tests.conftest import ProcessGroup, celery_command

TASK = "apps.core.tasks.beat_heartbeat"


def queued_heartbeats() -> int:
    """Messages beat sent to the `default` queue (no worker consumes them in these tests)."""
    client = get_redis()
    count = 0
    for raw in client.lrange("default", 0, -1):
        if json.loads(raw)["headers"]["task"] == TASK:
            count += 1
    return count


def sends_in(log: str) -> int:
    return log.count("Sending due task every-second heartbeat")


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.2)


@pytest.mark.slow
def test_two_beats_send_each_task_once_per_period(
    processes: ProcessGroup, process_env: dict[str, str], tmp_path: object
) -> None:
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="every-second heartbeat", task=TASK, interval=every, queue="default", expire_seconds=60
    )
    env = {**process_env, "BEAT_LOCK_TTL_SECONDS": "4"}

    started = time.monotonic()
    beats = {
        name: processes.start(
            name,
            celery_command("beat", "--loglevel", "INFO", "-s", os.path.join(str(tmp_path), f"{name}-schedule")),
            env,
        )
        for name in ("beat-a", "beat-b")
    }
    wait_for(lambda: queued_heartbeats() >= 1, timeout=60)
    first_send = time.monotonic()
    time.sleep(8)
    per_beat = {name: sends_in(processes.log(name)) for name in beats}
    elapsed = time.monotonic() - first_send
    sent = queued_heartbeats()

    leaders = [name for name, count in per_beat.items() if count]
    assert len(leaders) == 1, f"both beats sent tasks: {per_beat}"
    # One message per elapsed period (plus the first); two unguarded beats would send about twice as many.
    assert 0.5 * elapsed <= sent <= math.floor(elapsed) + 2, f"{sent} sends in {elapsed:.1f} s"
    # Every message in the queue was logged by a beat (one send may be in flight between the two reads).
    assert abs(sent - sum(per_beat.values())) <= 1
    standby = next(name for name in beats if name not in leaders)
    assert "beat.standby" in processes.log(standby)
    assert get_redis().get(keys.BEAT_LOCK) is not None
    assert started < first_send

    # The leader dies without releasing the lock: the standby takes over once the lease lapses.
    beats[leaders[0]].send_signal(signal.SIGKILL)
    beats[leaders[0]].wait()
    killed_at, before = time.monotonic(), queued_heartbeats()
    wait_for(lambda: sends_in(processes.log(standby)) >= 3, timeout=30)
    taken_over_after = time.monotonic() - killed_at
    after = queued_heartbeats() - before
    assert "beat.leader" in processes.log(standby)
    assert after <= math.floor(taken_over_after) + 2, f"{after} sends in {taken_over_after:.1f} s after failover"
