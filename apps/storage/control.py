"""Storage actions an operator asks for (REST control endpoints, later the bot): a flush now
instead of at the next beat, and a retention purge planned or carried out on demand. Both run
the same code as their schedules and `manage.py purge`."""

from __future__ import annotations

from datetime import date
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from apps.core.redis import get_redis
from apps.storage.retention import purge_execute, purge_plan


def flush_enqueue() -> dict[str, Any]:
    """Queue one run of the lake flush (the same task beat schedules); returns its task id."""
    # Imported here: tasks import the Celery app, which readers of this module do not need.
    from apps.storage.tasks import flush_streams

    result = flush_streams.delay()
    return {"task_id": result.id}


def purge_run(
    *,
    dry_run: bool,
    data_type: str | None,
    before: date | None,
    user: AbstractBaseUser | None,
    triggered_by: str,
    client: redis.Redis | None = None,
) -> dict[str, Any]:
    """Plan a retention purge and, unless `dry_run`, carry it out (the same services as
    `manage.py purge`), recording `triggered_by` and `user` on the PurgeRun. Returns the run's
    id, the plan and the result."""
    client = client or get_redis()
    plan = purge_plan(client=client, lake=settings.LAKE_DIR, data_type=data_type, before=before)
    run = purge_execute(
        client=client,
        lake=settings.LAKE_DIR,
        plan=plan,
        dry_run=dry_run,
        triggered_by=triggered_by,
        user=user,
        data_type=data_type,
        before=before,
    )
    return {
        "run_id": run.pk,
        "dry_run": run.dry_run,
        "status": run.status,
        "plan": run.plan,
        "result": run.result,
        "bytes_freed": run.bytes_freed,
    }
