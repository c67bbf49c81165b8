"""The Redis records that carry metrics from processes without a /metrics of their own (Celery
workers) to the web process's collector."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis

from apps.core import keys
from apps.core.codec import text


def task_finished_record(
    *, client: redis.Redis, task: str, state: str, bucket: str | None, seconds: float | None
) -> None:
    """Count one finished task and, when its run time is known, add it to the histogram."""
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(keys.MONITORING_CELERY_TASKS, f"{task}|{state}", 1)
    if bucket is not None and seconds is not None:
        pipe.hincrby(keys.MONITORING_CELERY_RUNTIME, f"{task}|{bucket}", 1)
        pipe.hincrbyfloat(keys.MONITORING_CELERY_RUNTIME, f"{task}|sum", seconds)
        pipe.hincrby(keys.MONITORING_CELERY_RUNTIME, f"{task}|count", 1)
    pipe.execute()


def worker_alive_record(*, client: redis.Redis, hostname: str, queues: list[str], ttl: float) -> None:
    client.set(keys.monitoring_worker(hostname), ",".join(queues), px=int(ttl * 1000))


def worker_gone_record(*, client: redis.Redis, hostname: str) -> None:
    client.delete(keys.monitoring_worker(hostname))


def workers_by_queue(*, client: redis.Redis) -> dict[str, list[str]]:
    """Live workers (their record has not expired) per queue they consume."""
    found: dict[str, list[str]] = defaultdict(list)
    for key in client.scan_iter(match=keys.MONITORING_WORKER_PATTERN, count=500):
        raw = client.get(key)
        if raw is None:
            continue
        hostname = text(key).removeprefix("monitoring:worker:")
        for queue in filter(None, text(raw).split(",")):
            found[queue].append(hostname)
    return {queue: sorted(names) for queue, names in found.items()}


@dataclass
class TaskRuntimes:
    buckets: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def task_counts(*, client: redis.Redis) -> dict[tuple[str, str], int]:
    """(task, state) -> tasks finished."""
    found = {}
    for field_name, value in client.hgetall(keys.MONITORING_CELERY_TASKS).items():
        task, _, state = text(field_name).rpartition("|")
        found[(task, state)] = int(value)
    return found


def task_runtimes(*, client: redis.Redis) -> TaskRuntimes:
    runtimes = TaskRuntimes()
    raw: dict[Any, Any] = client.hgetall(keys.MONITORING_CELERY_RUNTIME)
    for field_name, value in raw.items():
        task, _, part = text(field_name).rpartition("|")
        if part == "sum":
            runtimes.sums[task] = float(value)
        elif part == "count":
            runtimes.counts[task] = int(value)
        else:
            runtimes.buckets[task][part] = int(value)
    return runtimes
