"""Celery signal handlers: a worker refuses a bad configuration before it is ready, and keeps each
worker process's runtime configuration fresh."""

from __future__ import annotations

from typing import Any

from celery.signals import task_prerun, worker_init, worker_process_init

from apps.core.runtime_config import clear_cache, refresh_if_stale
from apps.core.startup_checks import refuse_to_start


@worker_init.connect
def _refuse_a_bad_configuration(**kwargs: Any) -> None:
    # Celery's Django fixup runs the system checks but ignores what they find; a worker that
    # reached "ready" with an unwritable lake would fail every flush instead.
    refuse_to_start()


@worker_process_init.connect
def _load_runtime_config(**kwargs: Any) -> None:
    # A forked child must not trust the parent's copy (or its sockets).
    clear_cache()


@task_prerun.connect
def _refresh_runtime_config(**kwargs: Any) -> None:
    refresh_if_stale()
