"""Reads of batch jobs for the command line, the admin and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.batch.models import BatchJob, BatchUnit
from apps.core.exceptions import NotFoundError


def job_list(*, state: str | None = None, kind: str | None = None, limit: int = 50) -> list[BatchJob]:
    jobs: QuerySet[BatchJob] = BatchJob.objects.all()
    if state:
        jobs = jobs.filter(state=state)
    if kind:
        jobs = jobs.filter(kind=kind)
    return list(jobs.order_by("-created_at", "-id")[:limit])


def job_get(*, job_id: int) -> BatchJob:
    job = BatchJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFoundError(f"no batch job {job_id}")
    return job


def job_units(*, job_id: int) -> list[BatchUnit]:
    return list(BatchUnit.objects.filter(job_id=job_id).order_by("index"))
