"""Celery signal handlers: keep each worker process's runtime configuration fresh."""

from __future__ import annotations

from typing import Any

from celery.signals import task_prerun, worker_process_init

from apps.core.runtime_config import clear_cache, refresh_if_stale


@worker_process_init.connect
def _load_runtime_config(**kwargs: Any) -> None:
    # A forked child must not trust the parent's copy (or its sockets).
    clear_cache()


@task_prerun.connect
def _refresh_runtime_config(**kwargs: Any) -> None:
    refresh_if_stale()
