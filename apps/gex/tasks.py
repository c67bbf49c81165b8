"""GEX tasks: parse arguments, call a service, return a small JSON summary."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.batch.services import unit_run
from apps.core.progress import task_progress
from apps.gex.models import GEXImportJob
from apps.gex.services.imports import (
    GEX_IMPORT_BACKOFF_MAX_SECONDS,
    GEX_IMPORT_BACKOFF_SECONDS,
    GEX_IMPORT_MAX_RETRIES,
    GEXImportRetryableError,
    gex_import_run,
)


@shared_task(
    bind=True,
    name="apps.gex.tasks.gex_history_import",
    autoretry_for=(GEXImportRetryableError,),
    max_retries=GEX_IMPORT_MAX_RETRIES,
    retry_backoff=GEX_IMPORT_BACKOFF_SECONDS,
    retry_backoff_max=GEX_IMPORT_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=1700,
    time_limit=1800,
)
def gex_history_import(self: Any, job_id: int, unit: list[Any] | None = None) -> dict[str, Any]:
    """Routed to the `batch` queue, so imports never delay live polling. Idempotent: a redelivered
    message finds the job completed, or re-records what is already recorded, which is skipped.

    With `unit` ([id, token]) it runs the batch job's unit (apps/gex/batch_kind.py); without, a
    message queued before imports ran as batch jobs, directly."""
    if unit is not None:
        ran = unit_run(unit_id=int(unit[0]), token=str(unit[1]))
        job: GEXImportJob | None = GEXImportJob.objects.filter(pk=int(job_id)).first() if ran else None
    else:
        job = gex_import_run(
            job_id=int(job_id),
            progress=task_progress(self, what="snapshots imported"),
            last_attempt=self.request.retries >= self.max_retries,
        )
    if job is None:
        return {"job": job_id, "ran": False}
    return {
        "job": job.pk,
        "ran": True,
        "state": job.state,
        "rows_imported": job.rows_imported,
        "total": job.progress_total,
        "error": job.error,
    }


# One chain per group: each run polls what is due and sends the next run for when something next
# falls due (apps/gex/poll_chain.py). The message expires with its chain's grace, so a backlog
# never bursts requests at GEXBot. Never retried: the chain's next run is the retry. Without a
# `chain` token (sent by hand) it polls once.
@shared_task(name="apps.gex.tasks.gex_poll", ignore_result=True, acks_late=False)
def gex_poll(group: str = "default", chain: str | None = None) -> dict[str, Any]:
    from apps.core.redis import get_redis
    from apps.gex.poll_chain import GRACE_SECONDS, poll_chain_next, poll_chain_owns
    from apps.gex.polling import PollGroup, fallback_source, poll_once, primary_source, sierra_files_write

    poll_group, client, source = PollGroup(group), get_redis(), primary_source()
    if chain is not None and not poll_chain_owns(group=poll_group, token=chain, client=client):
        return {"group": group, "chain": chain, "superseded": True}
    report = poll_once(
        group=poll_group, source=source, fallback=fallback_source(), client=client, on_snapshot=sierra_files_write
    )
    summary: dict[str, Any] = {"group": report.group, "interval": report.session_interval, "polled": report.outcomes}
    delay = poll_chain_next(group=poll_group, token=chain, source=source, client=client) if chain is not None else None
    if delay is not None:
        gex_poll.apply_async(kwargs={"group": group, "chain": chain}, countdown=delay, expires=delay + GRACE_SECONDS)
        summary["next_in"] = round(delay, 3)
    return summary


@shared_task(name="apps.gex.tasks.gex_poll_keep", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def gex_poll_keep(group: str = "default") -> dict[str, Any]:
    """Beat sends one a minute per group: starts the group's poll chain when none is alive.
    Idempotent: a chain that is alive is left alone."""
    from apps.core.redis import get_redis
    from apps.gex.poll_chain import poll_chain_start
    from apps.gex.polling import PollGroup

    token = poll_chain_start(group=PollGroup(group), client=get_redis())
    if token is not None:
        gex_poll.apply_async(kwargs={"group": group, "chain": token})
    return {"group": group, "started": token is not None}


@shared_task(name="apps.gex.tasks.gex_tickers_refresh", acks_late=True, reject_on_worker_lost=True)
def gex_tickers_refresh() -> dict[str, Any]:
    """Idempotent: replaces the cached ticker list with what the source lists now."""
    from apps.core.redis import get_redis
    from apps.gex.polling import primary_source, tickers_refresh

    source = primary_source()
    tickers = tickers_refresh(source=source, client=get_redis())
    return {"source": source.name, "tickers": sorted(tickers) if tickers is not None else None}
