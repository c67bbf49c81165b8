"""An exactly-once reader of one Redis stream, for any consumer whose effect must happen once:
the lake flush, the alert engine.

Redis consumer groups deliver at least once; the effect is exactly once when the consumer

1. holds the stream's lock, so two workers never read it at once (a lock left by a process of
   this machine that died is taken over at once, not after its expiry);
2. reads its group's pending entries first, all of them: exactly the batch an interrupted run
   had read and not acknowledged, so its effect is made again the same way (idempotently);
3. acknowledges a batch only after its effect is durable.

    reader = ExactlyOnceReader(client=client, key=key, group="lake", consumer="flusher", lock=name)
    with reader:                      # StreamBusyError when another live process holds it
        while batch := reader.read(count=2000):
            ...                       # the durable write
            reader.ack(batch)
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import redis
import structlog

from apps.core.codec import text as _text

log = structlog.get_logger(__name__)

LOCK_SECONDS = 600
_DELETE_IF_HOLDER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class StreamBusyError(Exception):
    """Another live process holds the stream's lock."""


@dataclass(frozen=True)
class Batch:
    """Entries read together, oldest first. `fields` is None for an entry trimmed away while it
    was pending: it has nothing to give, but is acknowledged with the rest. `redelivered`: the
    batch is the group's pending entries (an earlier run read them and did not acknowledge)."""

    entries: list[tuple[str, dict[bytes, bytes] | None]]
    redelivered: bool

    @property
    def ids(self) -> list[str]:
        return [entry_id for entry_id, _ in self.entries]

    @property
    def first_id(self) -> str:
        return self.entries[0][0]

    @property
    def last_id(self) -> str:
        return self.entries[-1][0]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ExactlyOnceReader:
    """Reads `key` as `consumer` of consumer group `group` (created at the stream's start when
    missing), holding the Redis lock named `lock` while it is entered. No I/O before `with`."""

    def __init__(
        self,
        *,
        client: redis.Redis,
        key: str,
        group: str,
        consumer: str,
        lock: str,
        lock_seconds: int = LOCK_SECONDS,
    ) -> None:
        self.client = client
        self.key = key
        self.group = group
        self.consumer = consumer
        self.lock_name = lock
        self.lock_seconds = lock_seconds
        self._lock: Any | None = None

    def __enter__(self) -> ExactlyOnceReader:
        self._lock = self._acquire()
        if self._lock is None:
            raise StreamBusyError(f"{self.key}: another process holds {self.lock_name}")
        try:
            self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                self._release()
                raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._release()

    def read(self, *, count: int) -> Batch | None:
        """The group's pending entries of this consumer (all of them, whatever `count`), else up
        to `count` new ones; None when there is nothing."""
        self._held()
        for cursor, limit, redelivered in (("0", None, True), (">", count, False)):
            reply: Any = self.client.xreadgroup(self.group, self.consumer, {self.key: cursor}, count=limit)
            entries = reply[0][1] if reply else []
            if entries:
                return Batch([(_text(entry_id), fields) for entry_id, fields in entries], redelivered)
        return None

    def ack(self, batch: Batch) -> None:
        """Acknowledge `batch`: call it only once the batch's effect is durable. Extends the lock
        for the next batch."""
        lock = self._held()
        self.client.xack(self.key, self.group, *batch.ids)
        lock.reacquire()

    def _held(self) -> Any:
        if self._lock is None:
            raise RuntimeError(f"{self.key}: read and ack only inside `with reader:`")
        return self._lock

    def _acquire(self) -> Any | None:
        """The lock, or None while another live process holds it.

        The token names the host and process, so a lock left by a process of this machine that
        died is taken over at once instead of blocking the stream for `lock_seconds` (holders on
        other machines are left to expire)."""
        token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        lock = self.client.lock(self.lock_name, timeout=self.lock_seconds, blocking=False)
        if lock.acquire(token=token):
            return lock
        holder = self.client.get(self.lock_name)
        if holder:
            host, _, rest = _text(holder).partition(":")
            pid = rest.partition(":")[0]
            if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
                self.client.eval(_DELETE_IF_HOLDER, 1, self.lock_name, holder)
                log.warning("consumer.stale_lock_taken_over", key=self.key, lock=self.lock_name, holder=_text(holder))
                if lock.acquire(token=token):
                    return lock
        return None

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("consumer.lock_expired", key=self.key, lock=self.lock_name)
