"""GEX history imports as batch jobs (apps/batch): one job, one unit, per GEXImportJob.

The unit runs in the task GEX history imports always had (`apps.gex.tasks.gex_history_import`,
the job's `task_id`), so messages, results and Flower look as before; the runner owns the
lifecycle (queued, running, done or failed, resume, cancel, the admin's job list), and a
transient failure (network, 5xx, Redis, the lake) leaves the unit queued for the task's retry.
"""

from __future__ import annotations

from typing import Any

from apps.batch.jobs import JobError, JobKind, Plan, Progress, UnitMessage, UnitPlan, job_kind_register
from apps.batch.report import JobReport
from apps.core.exceptions import BadInputError
from apps.gex.models import GEXImportJob
from apps.gex.services.imports import GEX_IMPORT_MAX_RETRIES, GEXImportRetryableError, gex_import_run

KIND = "gex_history"


class GEXHistoryImport(JobKind):
    name = KIND
    help = "One GEX history import (a URL, a vendor file or a GEXBot day); submitted by import_gex_history"
    progress_unit = "imports"
    retryable = (GEXImportRetryableError,)

    def parse_params(self, *, params: dict[str, str]) -> dict[str, Any]:
        raw = params.get("import_job", "")
        if set(params) - {"import_job"} or not raw.isdigit():
            raise BadInputError("import_job", "--param import_job=ID (a GEX import job's id) is the only parameter")
        if not GEXImportJob.objects.filter(pk=int(raw)).exists():
            raise BadInputError("import_job", f"no GEX import job {raw}")
        return {"import_job": int(raw)}

    def plan(self, *, params: dict[str, Any]) -> Plan:
        job = GEXImportJob.objects.get(pk=params["import_job"])
        label = f"{job.kind} {job.ticker}/{job.package}/{job.category}"
        return Plan(units=[UnitPlan(label=label, params={"import_job": job.pk})])

    def unit_message(self, *, unit_id: int, token: str, unit: dict[str, Any]) -> UnitMessage:
        task_id = GEXImportJob.objects.values_list("task_id", flat=True).get(pk=unit["import_job"]) or None
        return UnitMessage(
            task="apps.gex.tasks.gex_history_import",
            args=(unit["import_job"],),
            kwargs={"unit": [unit_id, token]},
            task_id=task_id,
        )

    def run_unit(self, *, params: dict[str, Any], unit: dict[str, Any], progress: Progress, attempt: int) -> JobReport:
        report = JobReport()
        job = gex_import_run(
            job_id=unit["import_job"],
            progress=lambda done, total: progress(done),
            last_attempt=attempt > GEX_IMPORT_MAX_RETRIES,
        )
        if job is None:
            report.warn(f"GEX import job {unit['import_job']} was not runnable (already completed or failed)")
            return report
        if job.state == GEXImportJob.State.FAILED:
            raise JobError(job.error)
        report.count("snapshots", job.progress_total)
        report.count("snapshots_new", job.rows_imported)
        return report


job_kind_register(GEXHistoryImport())
