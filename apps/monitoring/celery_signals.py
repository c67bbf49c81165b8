"""Celery's metrics, written by signal handlers in every worker and read by the web's /metrics.

Workers run tasks in forked children and serve no HTTP, so each finished task adds to counters
in Redis (one HINCRBY per series, in one round trip) and the collector of the web process turns
them into `pipeline_celery_*` series. Each worker's main process also refreshes a record of its
queues every WORKER_HEARTBEAT_SECONDS, expiring after three periods: the health check and
`pipeline_celery_workers_up` count live workers per queue from it, and a killed worker drops out
when its record expires.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import redis
import structlog
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from django.conf import settings
from prometheus_client import CollectorRegistry, multiprocess, start_http_server

from apps.core.redis import get_redis
from apps.monitoring import metrics, store

log = structlog.get_logger(__name__)

_started: dict[str, float] = {}
_stop = threading.Event()


def _task_name(task: Any) -> str:
    name = getattr(task, "name", None)
    app = getattr(task, "app", None)
    # Only registered names become labels: anything else is "other" (bounded).
    return name if isinstance(name, str) and app is not None and name in app.tasks else "other"


def _bucket(seconds: float) -> str:
    for bound in metrics.TASK_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return "+Inf"


@task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    started = _started.pop(task_id or "", None)
    name = _task_name(task)
    try:
        store.task_finished_record(
            client=get_redis(),
            task=name,
            state=(state or "unknown").lower(),
            bucket=_bucket(time.perf_counter() - started) if started is not None else None,
            seconds=time.perf_counter() - started if started is not None else None,
        )
    except redis.RedisError as error:
        # A metric lost is better than a task failed for it.
        log.warning("monitoring.task_metric_lost", task=name, error=f"{type(error).__name__}: {error}")


def _queues_of(consumer: Any) -> list[str]:
    task_consumer = getattr(consumer, "task_consumer", None)
    queues = getattr(task_consumer, "queues", None) or []
    return sorted({queue.name for queue in queues})


def _heartbeat_loop(hostname: str, queues: list[str]) -> None:
    period = settings.ENV.WORKER_HEARTBEAT_SECONDS
    while not _stop.is_set():
        try:
            store.worker_alive_record(client=get_redis(), hostname=hostname, queues=queues, ttl=period * 3)
        except redis.RedisError as error:
            log.warning("monitoring.worker_heartbeat_failed", worker=hostname, error=f"{type(error).__name__}: {error}")
        _stop.wait(period)


class WorkerMetricsError(RuntimeError):
    """The worker's /metrics cannot be served as configured; the message names the variable."""


@worker_init.connect
def _serve_worker_metrics(**kwargs: Any) -> None:
    """WORKER_METRICS_PORT: the worker's main process serves what its pool processes count,
    gathered from PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode)."""
    port = settings.ENV.WORKER_METRICS_PORT
    if not port:
        return
    directory = settings.ENV.PROMETHEUS_MULTIPROC_DIR
    if not directory or not os.path.isdir(directory):
        raise WorkerMetricsError(
            f"WORKER_METRICS_PORT={port} needs PROMETHEUS_MULTIPROC_DIR, an existing directory (got {directory!r})"
        )
    # What a previous run left would be added to this one's counters.
    for leftover in Path(directory).glob("*.db"):
        leftover.unlink()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    try:
        start_http_server(port, addr=settings.ENV.METRICS_HOST, registry=registry)
    except OSError as error:
        raise WorkerMetricsError(
            f"WORKER_METRICS_PORT: cannot serve on {settings.ENV.METRICS_HOST}:{port}: {error}"
        ) from None


@worker_process_shutdown.connect
def _pool_process_gone(pid: int | None = None, **kwargs: Any) -> None:
    if settings.ENV.WORKER_METRICS_PORT and settings.ENV.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.mark_process_dead(pid or os.getpid(), path=settings.ENV.PROMETHEUS_MULTIPROC_DIR)


@worker_ready.connect
def _worker_ready(sender: Any = None, **kwargs: Any) -> None:
    hostname = str(getattr(sender, "hostname", "") or "")
    if not hostname:
        return
    _stop.clear()
    queues = _queues_of(sender)
    threading.Thread(target=_heartbeat_loop, args=(hostname, queues), name="worker-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    _stop.set()
    hostname = str(getattr(sender, "hostname", "") or "")
    if hostname:
        with contextlib.suppress(redis.RedisError):  # the record expires by itself
            store.worker_gone_record(client=get_redis(), hostname=hostname)
