"""Reads of the platform's liveness for the doors that show it (the bot's `!status`): the beat
heartbeat and the shared circuit breakers, read as the health checks read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from apps.core.clock import utc_now
from apps.core.heartbeat import beat_last_run
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.monitoring.checks import GEXBOT_BREAKER, breaker_state_stored
from apps.monitoring.runtime_settings import BEAT_STALE_SECONDS

# Every circuit breaker the code keeps in Redis.
BREAKERS = (GEXBOT_BREAKER,)


@dataclass(frozen=True)
class BeatHeartbeat:
    last_run: datetime | None
    age_seconds: float | None
    # Older than the runtime setting monitoring.beat_stale_seconds (or never recorded).
    stale: bool


def beat_heartbeat() -> BeatHeartbeat:
    """When a beat-scheduled heartbeat task last ran in a worker, and whether that is too long ago."""
    last = beat_last_run()
    if last is None:
        return BeatHeartbeat(last_run=None, age_seconds=None, stale=True)
    age = (utc_now() - last).total_seconds()
    return BeatHeartbeat(last_run=last, age_seconds=age, stale=age > float(runtime_value(BEAT_STALE_SECONDS.key)))


def breaker_states() -> list[tuple[str, str]]:
    """(breaker, closed|open|half-open) of every shared circuit breaker."""
    client = get_redis()
    return [(name, breaker_state_stored(client=client, breaker=name)) for name in BREAKERS]
