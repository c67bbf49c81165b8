"""The batch runner: submit a job, dispatch its units up to the concurrency cap, run a unit,
resume, pause or cancel.

A unit is queued with a fresh token; the task carries it. A message from an earlier attempt (a
redelivery after a worker died and the job was resumed) finds another token and does nothing.
After each unit the job records it in its checkpoint (the units done) and its report, and
dispatches the next units. A job whose worker was killed is resumed with `job_resume`: the units
that were queued or running go back to pending and run again, idempotently; done units stay done.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from celery import current_app
from django.db import transaction

from apps.batch.jobs import JobError, JobKind, job_kind
from apps.batch.models import BatchJob, BatchUnit
from apps.batch.report import JobReport
from apps.batch.runtime_settings import MAX_PARALLEL_UNITS
from apps.core.clock import utc_now
from apps.core.exceptions import ApplicationError, BadInputError
from apps.core.runtime_config import runtime_value

log = structlog.get_logger(__name__)

State = BatchJob.State
UnitState = BatchUnit.State
# Kombu's Redis transport: 0 is the highest priority, 9 the lowest. Batch work yields.
BATCH_PRIORITY = 9
# A running unit writes its progress to the database at most this often.
PROGRESS_EVERY_SECONDS = 0.5

Sender = Callable[[BatchUnit], None]


def _send_unit(unit: BatchUnit) -> None:
    """Queue the task that runs `unit` (by name: no import of any task module, so a kind's app
    and its tasks import the runner, never the other way round)."""
    message = job_kind(unit.job.kind).unit_message(unit_id=unit.pk, token=unit.token, unit=unit.params)
    current_app.send_task(
        message.task, args=message.args, kwargs=message.kwargs, task_id=message.task_id, priority=BATCH_PRIORITY
    )


def parse_param_pairs(pairs: list[str]) -> dict[str, str]:
    """`["symbol=ES", "file=a.scid"]` → a dict; BadInputError naming a pair without `=`. A key given
    again adds to it, comma-separated (several files)."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError("param", f"--param {pair!r} must be KEY=VALUE")
        key = key.strip()
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def job_submit(*, kind: str, params: dict[str, str], who: str = "", enqueue: bool = True) -> BatchJob:
    """Check the parameters, plan the units and create the job; its units are queued on the
    batch queue once the transaction commits (`enqueue=False`: the caller runs them, `job_run_here`).

    BadInputError for a bad parameter (no job is made). A plan that fails (a file that is not
    SCID, nothing new to import...) makes a failed job whose error says why."""
    job_type = job_kind(kind)
    parsed = job_type.parse_params(params=params)
    job = BatchJob(kind=kind, params=parsed, who=who[:150], progress_unit=job_type.progress_unit)
    try:
        plan = job_type.plan(params=parsed)
    except JobError as error:
        job.state, job.error, job.ended_at = State.FAILED, error.message, utc_now()
        job.save()
        log.warning("batch.plan_failed", job=job.pk, kind=kind, error=error.message)
        return job
    with transaction.atomic():
        job.report = plan.report.to_json()
        job.progress_total = sum(unit.weight for unit in plan.units)
        job.save()
        BatchUnit.objects.bulk_create(
            BatchUnit(job=job, index=index, label=unit.label[:200], params=unit.params, weight=unit.weight)
            for index, unit in enumerate(plan.units)
        )
        if enqueue:
            transaction.on_commit(lambda: job_dispatch(job_id=job.pk))
    log.info("batch.submitted", job=job.pk, kind=kind, units=len(plan.units), who=who)
    if not plan.units and not enqueue:
        job_dispatch(job_id=job.pk, send=None)
    job.refresh_from_db()
    return job


def job_dispatch(*, job_id: int, send: Sender | None = _send_unit) -> list[tuple[int, str]]:
    """Queue pending units up to `batch.max_parallel_units` running at once; finish the job when
    none is left. Returns the (unit id, token) pairs queued; `send=None` queues none on Celery
    (the caller runs them)."""
    cap = int(runtime_value(MAX_PARALLEL_UNITS.key))
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in (State.QUEUED, State.RUNNING):
            return []
        if job.state == State.QUEUED:
            job.state, job.started_at = State.RUNNING, job.started_at or utc_now()
            job.save(update_fields=["state", "started_at"])
        units = BatchUnit.objects.filter(job=job)
        active = units.filter(state__in=[UnitState.QUEUED, UnitState.RUNNING]).count()
        queued: list[BatchUnit] = []
        for unit in units.filter(state=UnitState.PENDING).order_by("index")[: max(0, cap - active)]:
            unit.state, unit.token, unit.error = UnitState.QUEUED, uuid.uuid4().hex, ""
            unit.save(update_fields=["state", "token", "error"])
            unit.job = job
            queued.append(unit)
        if not queued and active == 0:
            _job_finish(job)
        elif send is not None:
            transaction.on_commit(lambda: [send(unit) for unit in queued])
    return [(unit.pk, unit.token) for unit in queued]


def _job_finish(job: BatchJob) -> None:
    """Every unit is done (the caller holds the job's row lock)."""
    units = list(BatchUnit.objects.filter(job=job).order_by("index"))
    report = JobReport.from_json(job.report)
    try:
        job_kind(job.kind).finish(params=job.params, units=[unit.params for unit in units], report=report)
    except ApplicationError as error:
        job.state, job.error = State.FAILED, error.message
    else:
        job.state = State.DONE
    job.report, job.ended_at = report.to_json(), utc_now()
    job.progress_done = job.progress_total
    job.save(update_fields=["state", "error", "report", "ended_at", "progress_done"])
    log.info("batch.finished", job=job.pk, state=job.state, report=report.summary())


def _start_unit(unit_id: int, token: str) -> tuple[BatchUnit, BatchJob] | None:
    with transaction.atomic():
        unit = BatchUnit.objects.select_for_update().filter(pk=unit_id).first()
        if unit is None or unit.token != token or unit.state != UnitState.QUEUED:
            log.info("batch.unit_stale", unit=unit_id)
            return None
        job = BatchJob.objects.get(pk=unit.job_id)
        if job.state != State.RUNNING:
            # Paused, cancelled or failed while it waited: it runs when the job is resumed.
            unit.state, unit.token = UnitState.PENDING, ""
            unit.save(update_fields=["state", "token"])
            return None
        unit.state, unit.attempts, unit.started_at, unit.done = UnitState.RUNNING, unit.attempts + 1, utc_now(), 0
        unit.save(update_fields=["state", "attempts", "started_at", "done"])
    return unit, job


def _unit_progress(unit: BatchUnit) -> Callable[[int], None]:
    last = 0.0

    def report(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_SECONDS:
            last = now
            BatchUnit.objects.filter(pk=unit.pk, token=unit.token).update(done=min(done, unit.weight))

    return report


def unit_run(*, unit_id: int, token: str, dispatch_next: bool = True) -> BatchUnit | None:
    """Run one unit carrying `token`; None when the message is stale or the job is not running.
    An ApplicationError fails the unit and the job with its reason; any other error too, and is
    raised. Then the next units are queued (unless `dispatch_next` is off: `job_run_here`)."""
    started = _start_unit(unit_id, token)
    if started is None:
        return None
    unit, job = started
    kind: JobKind = job_kind(job.kind)
    log.info("batch.unit_started", job=job.pk, unit=unit.index, label=unit.label, attempt=unit.attempts)
    try:
        report = kind.run_unit(
            params=job.params, unit=unit.params, progress=_unit_progress(unit), attempt=unit.attempts
        )
    except kind.retryable as error:
        # Left queued with its token: the task's retry runs it again.
        BatchUnit.objects.filter(pk=unit.pk, token=token).update(
            state=UnitState.QUEUED, error=f"attempt {unit.attempts} failed, will retry: {error}"
        )
        raise
    except ApplicationError as error:
        _unit_failed(unit, error.message)
        return unit
    except Exception as error:
        _unit_failed(unit, f"unexpected error: {type(error).__name__}: {error}")
        raise
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().get(pk=job.pk)
        unit = BatchUnit.objects.select_for_update().get(pk=unit.pk)
        if unit.token != token:
            return unit  # the job was resumed meanwhile: the new attempt records the unit
        unit.state, unit.done, unit.ended_at, unit.result = UnitState.DONE, unit.weight, utc_now(), report.to_json()
        unit.save(update_fields=["state", "done", "ended_at", "result"])
        job.progress_done += unit.weight
        job.report = JobReport.from_json(job.report).merge(report).to_json()
        done = set(job.checkpoint.get("units_done", []))
        done.add(unit.index)
        job.checkpoint = {**job.checkpoint, "units_done": sorted(done), "last_unit": unit.label}
        job.save(update_fields=["progress_done", "report", "checkpoint"])
    log.info("batch.unit_done", job=job.pk, unit=unit.index, report=report.summary())
    if dispatch_next:
        job_dispatch(job_id=job.pk)
    return unit


def _unit_failed(unit: BatchUnit, reason: str) -> None:
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().get(pk=unit.job_id)
        BatchUnit.objects.filter(pk=unit.pk).update(state=UnitState.FAILED, error=reason, ended_at=utc_now())
        if job.state == State.RUNNING:
            job.state, job.error, job.ended_at = State.FAILED, f"unit {unit.index} ({unit.label}): {reason}", utc_now()
            job.save(update_fields=["state", "error", "ended_at"])
    log.warning("batch.unit_failed", job=unit.job_id, unit=unit.index, error=reason)


def _job_for_update(job_id: int) -> BatchJob:
    job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise BadInputError("job", f"no batch job {job_id}")
    return job


def job_resume(*, job_id: int, enqueue: bool = True) -> BatchJob:
    """Run a job again from its checkpoint: units done stay done; those queued, running (a killed
    worker's) or failed run again. BadInputError for a job that is done."""
    with transaction.atomic():
        job = _job_for_update(job_id)
        if job.state == State.DONE:
            raise BadInputError("job", f"job {job_id} is done; nothing to resume")
        BatchUnit.objects.filter(job=job, state__in=[UnitState.QUEUED, UnitState.RUNNING, UnitState.FAILED]).update(
            state=UnitState.PENDING, token="", done=0
        )
        job.state, job.error, job.ended_at = State.QUEUED, "", None
        job.save(update_fields=["state", "error", "ended_at"])
        if enqueue:
            transaction.on_commit(lambda: job_dispatch(job_id=job_id))
    log.info("batch.resumed", job=job_id, units_done=len(job.checkpoint.get("units_done", [])))
    return job


def job_cancel(*, job_id: int) -> BatchJob:
    """Stop a job: no unit starts after this; a unit running now finishes its own work."""
    with transaction.atomic():
        job = _job_for_update(job_id)
        if job.finished:
            raise BadInputError("job", f"job {job_id} is {job.state}; only an unfinished job can be cancelled")
        job.state, job.ended_at = State.CANCELLED, utc_now()
        job.save(update_fields=["state", "ended_at"])
    log.info("batch.cancelled", job=job_id)
    return job


def job_pause(*, job_id: int) -> BatchJob:
    """Stop starting units until the job is resumed."""
    with transaction.atomic():
        job = _job_for_update(job_id)
        if job.state not in (State.QUEUED, State.RUNNING):
            raise BadInputError("job", f"job {job_id} is {job.state}; only a queued or running job can be paused")
        job.state = State.PAUSED
        job.save(update_fields=["state"])
    return job


def job_run_here(*, job_id: int, on_unit: Callable[[BatchJob], None] | None = None) -> BatchJob:
    """Run a job's units one after the other in this process (`jobs run --here`), through the
    same unit path the workers take. `on_unit(job)` after each unit."""
    while True:
        queued = job_dispatch(job_id=job_id, send=None)
        if not queued:
            break
        for unit_id, token in queued:
            unit_run(unit_id=unit_id, token=token, dispatch_next=False)
            if on_unit:
                on_unit(BatchJob.objects.get(pk=job_id))
    return BatchJob.objects.get(pk=job_id)


def job_progress(job: BatchJob) -> dict[str, Any]:
    """Done and total in the job's unit, counting what running units did so far."""
    running = BatchUnit.objects.filter(job=job, state=UnitState.RUNNING).values_list("done", flat=True)
    done = min(job.progress_total, job.progress_done + sum(running)) if job.progress_total else job.progress_done
    return {"done": done, "total": job.progress_total, "unit": job.progress_unit}
