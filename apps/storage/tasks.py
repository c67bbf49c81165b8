"""Lake tasks (routed to the `flush` queue): parse arguments, call a service, return a summary."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from apps.core.progress import task_progress
from apps.core.redis import cluster_urls, get_hot_redis, get_redis
from apps.storage.compaction import lake_compact
from apps.storage.flush import flush_failure, streams_flush
from apps.storage.retention import purge_run

# A lake that cannot be written is retried soon (2, 4, 8 s: a moment's ENOSPC or a remount),
# then the task fails, well before the next scheduled run.
FLUSH_RETRIES = 3
FLUSH_RETRY_FIRST_SECONDS = 2


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=540,
    time_limit=600,
    max_retries=FLUSH_RETRIES,
)
def flush_streams(self: Any) -> dict[str, Any]:
    """Idempotent by construction: a re-run writes the same ranges to the same files. A run that
    could not write some stream fails (after its retries): what was pending stays pending."""
    # Market data on a Redis Cluster (REDIS_CLUSTER_URLS): the GEX and UW writers still write
    # REDIS_URL (docs/scaling.md), so its streams are flushed in the same run.
    results = streams_flush(
        client=get_hot_redis(),
        also=[get_redis()] if cluster_urls() else [],
        outcome_client=get_redis(),
        lake=settings.LAKE_DIR,
        failpoint=settings.FLUSH_FAILPOINT,
        progress=task_progress(self, what="streams flushed"),
    )
    failure = flush_failure(results)
    if failure is not None:
        raise self.retry(exc=failure, countdown=FLUSH_RETRY_FIRST_SECONDS * 2**self.request.retries)
    return {
        "rows": sum(result.rows for result in results),
        "streams": {
            result.key: {"rows": result.rows, "last_id": result.last_id, "skipped": result.skipped}
            for result in results
        },
    }


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1700, time_limit=1800)
def purge() -> dict[str, Any]:
    """The daily retention purge; the same service as `manage.py purge`."""
    run = purge_run(dry_run=False, triggered_by="beat")
    return {"run": run.pk, "status": run.status, "bytes_freed": run.bytes_freed}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, soft_time_limit=3300, time_limit=3600)
def compact(self: Any) -> dict[str, Any]:
    """Daily: merge the small files of closed partitions."""
    results = lake_compact(lake=settings.LAKE_DIR, progress=task_progress(self, what="partitions compacted"))
    done = [result for result in results if not result.skipped]
    return {
        "partitions": len(done),
        "files_before": sum(r.files_before for r in done),
        "files_after": sum(r.files_after for r in done),
    }
