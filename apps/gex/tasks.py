"""GEX tasks: parse arguments, call a service, return a small JSON summary."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.core.progress import task_progress
from apps.gex.services.imports import GEXImportRetryableError, gex_import_run

# A history import retries a transient failure (network, 5xx, Redis, the lake) after a random
# wait of up to 2, 4, then 8 s (exponential, full jitter, capped); the job fails with the reason
# after the last retry, and the admin can queue it again. The GEXBot client has already retried
# each request a few times by then.
GEX_IMPORT_MAX_RETRIES = 3
GEX_IMPORT_BACKOFF_SECONDS = 2
GEX_IMPORT_BACKOFF_MAX_SECONDS = 60


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
def gex_history_import(self: Any, job_id: int) -> dict[str, Any]:
    """Routed to the `batch` queue, so imports never delay live polling. Idempotent: a redelivered
    message finds the job completed, or re-records what is already recorded, which is skipped."""
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
    from apps.core.clock import utc_now
    from apps.core.redis import get_redis
    from apps.gex.poll_chain import GRACE_SECONDS, poll_chain_extend, poll_chain_owns, poll_next_delay
    from apps.gex.polling import PollGroup, fallback_source, poll_once, primary_source, sierra_files_write

    poll_group, client, source = PollGroup(group), get_redis(), primary_source()
    if chain is not None and not poll_chain_owns(group=poll_group, token=chain, client=client):
        return {"group": group, "chain": chain, "superseded": True}
    report = poll_once(
        group=poll_group, source=source, fallback=fallback_source(), client=client, on_snapshot=sierra_files_write
    )
    summary: dict[str, Any] = {"group": report.group, "interval": report.session_interval, "polled": report.outcomes}
    if chain is not None:
        delay = poll_next_delay(group=poll_group, source=source, moment=utc_now(), client=client)
        if poll_chain_extend(group=poll_group, token=chain, delay=delay, client=client):
            gex_poll.apply_async(
                kwargs={"group": group, "chain": chain}, countdown=delay, expires=delay + GRACE_SECONDS
            )
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
