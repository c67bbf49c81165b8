"""Core Celery tasks: parse arguments, call a service or selector, return a small JSON result."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import shared_task

from apps.core.heartbeat import beat_heartbeat_record
from apps.core.runtime_config import runtime_config_snapshot as runtime_config_read


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=20, time_limit=30)
def beat_heartbeat() -> dict[str, Any]:
    """Idempotent: recording the same heartbeat twice is harmless."""
    return beat_heartbeat_record()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=20, time_limit=30)
def runtime_config_snapshot() -> dict[str, Any]:
    """The runtime configuration as this worker process sees it (`config show --worker`). Reads
    only, so running it again after a lost worker is harmless."""
    snapshot = runtime_config_read()
    snapshot["pid"] = os.getpid()
    snapshot["effective_log_level"] = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return snapshot
