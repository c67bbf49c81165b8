"""Batch tasks (the `batch` queue): parse arguments, call the runner, nothing else."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.batch.services import unit_run

# A unit is a day of one file: minutes, not hours. The broker's visibility timeout is longer.
UNIT_TIME_LIMIT_SECONDS = 3600


@shared_task(
    name="apps.batch.tasks.run_unit",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=UNIT_TIME_LIMIT_SECONDS - 60,
    time_limit=UNIT_TIME_LIMIT_SECONDS,
)
def run_unit(unit_id: int, token: str) -> dict[str, Any]:
    """Idempotent: a stale or repeated message does nothing, and a unit run again rewrites the
    same lake files."""
    unit = unit_run(unit_id=int(unit_id), token=str(token))
    if unit is None:
        return {"unit": unit_id, "ran": False}
    return {"unit": unit.pk, "job": unit.job_id, "ran": True, "state": unit.state, "error": unit.error}
