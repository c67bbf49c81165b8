"""A DatabaseScheduler that only ticks while it holds a Redis lock.

Two beat processes against one schedule would send every periodic task twice. Each beat
tries to take `beat:lock` (a lease of BEAT_LOCK_TTL_SECONDS, renewed every tick); the one
that holds it schedules, the others stand by and take over when the lease lapses, for
instance when the leader is killed.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

import redis
import structlog
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler
from redis.exceptions import LockError

from apps.core import keys
from apps.core.redis import get_redis

log = structlog.get_logger(__name__)


class LockedDatabaseScheduler(DatabaseScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._is_leader = False
        self._announced_standby = False
        self._lock: redis.lock.Lock | None = None
        super().__init__(*args, **kwargs)

    @property
    def lock_ttl(self) -> int:
        return int(settings.BEAT_LOCK_TTL_SECONDS)

    def _beat_lock(self) -> redis.lock.Lock:
        if self._lock is None:
            self._lock = get_redis().lock(keys.BEAT_LOCK, timeout=self.lock_ttl, thread_local=False)
        return self._lock

    def _hold_lock(self) -> bool:
        lock = self._beat_lock()
        try:
            if self._is_leader:
                lock.reacquire()
                return True
            if lock.acquire(blocking=False, token=f"{socket.gethostname()}:{os.getpid()}"):
                return True
        except LockError:
            log.warning("beat.lock_lost")
        except redis.RedisError as error:
            log.warning("beat.lock_unreachable", error=str(error))
        return False

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._hold_lock():
            if self._is_leader:
                log.warning("beat.standby", reason="lost the lock")
            elif not self._announced_standby:
                log.info("beat.standby", reason="another beat holds the lock")
                self._announced_standby = True
            self._is_leader = False
            return min(self.lock_ttl / 3, self.max_interval)
        if not self._is_leader:
            log.info("beat.leader")
            self._is_leader = True
            # Read the schedule afresh: the previous leader's last_run_at values are in the
            # database, and an old in-memory copy would send tasks it has already sent.
            self._initial_read = True
            self._heap = None
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        super().close()
        if self._is_leader and self._lock is not None:
            with contextlib.suppress(LockError, redis.RedisError):
                self._lock.release()
            self._is_leader = False
