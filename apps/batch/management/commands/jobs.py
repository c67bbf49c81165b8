from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.batch.jobs import job_kinds
from apps.batch.management.job_output import follow, progress_line
from apps.batch.models import BatchJob
from apps.batch.report import JobReport
from apps.batch.selectors import job_get, job_list, job_units
from apps.batch.services import job_cancel, job_resume, job_run_here, job_submit, parse_param_pairs
from apps.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Batch jobs: list, show, run KIND --param k=v, resume ID (from its checkpoint), cancel ID. "
        "run and resume follow the job (a progress bar on a terminal, plain lines in a pipe)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="recent jobs")
        listing.add_argument("--state", choices=BatchJob.State.values)
        listing.add_argument("--kind")
        listing.add_argument("--limit", type=int, default=20)
        show = sub.add_parser("show", help="one job: progress, units, report")
        show.add_argument("job", type=int)
        run = sub.add_parser("run", help="submit a job of KIND")
        run.add_argument("kind", help="the job kind (jobs kinds lists them)")
        run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
        self._mode_options(run)
        resume = sub.add_parser("resume", help="run a failed, paused or interrupted job from its checkpoint")
        resume.add_argument("job", type=int)
        self._mode_options(resume)
        cancel = sub.add_parser("cancel", help="stop a job: no unit starts after this")
        cancel.add_argument("job", type=int)
        sub.add_parser("kinds", help="the job kinds and their help")

    @staticmethod
    def _mode_options(parser: ArgumentParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--here", action="store_true", help="run the units in this process, one by one")
        mode.add_argument("--detach", action="store_true", help="queue on the batch workers and return")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ApplicationError as error:
            raise CommandError(error.message) from None

    def _list(self, options: dict[str, Any]) -> None:
        for job in job_list(state=options["state"], kind=options["kind"], limit=options["limit"]):
            self.stdout.write(f"{progress_line(job)}  created {job.created_at:%Y-%m-%d %H:%M:%S} by {job.who or '-'}")

    def _show(self, options: dict[str, Any]) -> None:
        job = job_get(job_id=options["job"])
        self.stdout.write(progress_line(job))
        self.stdout.write(f"params: {job.params}")
        if job.error:
            self.stdout.write(f"error: {job.error}")
        for unit in job_units(job_id=job.pk):
            error = f": {unit.error}" if unit.error else ""
            self.stdout.write(f"  unit {unit.index} {unit.label}: {unit.state} (attempts {unit.attempts}){error}")
        report = JobReport.from_json(job.report)
        self.stdout.write(f"report: {report.summary()}")
        for warning in report.warnings:
            self.stdout.write(f"  warning: {warning}")
        for output in report.outputs:
            self.stdout.write(f"  output: {output}")

    def _kinds(self, options: dict[str, Any]) -> None:
        for kind in job_kinds():
            self.stdout.write(f"{kind.name}: {kind.help}")

    def _run(self, options: dict[str, Any]) -> None:
        params = parse_param_pairs(options["param"])
        job = job_submit(kind=options["kind"], params=params, who="cli", enqueue=not options["here"])
        self.stdout.write(f"job {job.pk}: {job.kind} submitted")
        self._follow(job, options)

    def _resume(self, options: dict[str, Any]) -> None:
        job = job_resume(job_id=options["job"], enqueue=not options["here"])
        self.stdout.write(
            f"job {job.pk}: resumed from its checkpoint ({len(job.checkpoint.get('units_done', []))} unit(s) done)"
        )
        self._follow(job, options)

    def _cancel(self, options: dict[str, Any]) -> None:
        job = job_cancel(job_id=options["job"])
        self.stdout.write(f"job {job.pk}: cancelled")

    def _follow(self, job: BatchJob, options: dict[str, Any]) -> None:
        if job.state == BatchJob.State.FAILED:
            raise CommandError(f"job {job.pk} failed: {job.error}")
        if options["detach"]:
            self.stdout.write(f"job {job.pk}: queued on the batch workers; follow with `manage.py jobs show {job.pk}`")
            return
        if options["here"]:
            job = job_run_here(job_id=job.pk, on_unit=lambda current: self.stdout.write(progress_line(current)))
        else:
            job = follow(job.pk, out=self.stdout)
        report = JobReport.from_json(job.report)
        for warning in report.warnings:
            self.stdout.write(f"warning: {warning}")
        self.stdout.write(f"job {job.pk}: {job.state}: {report.summary()}")
        if job.state == BatchJob.State.FAILED:
            raise CommandError(f"job {job.pk} failed: {job.error}")
