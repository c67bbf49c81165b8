from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.batch.kinds.depth_import import KIND as DEPTH_KIND
from apps.batch.kinds.scid_import import KIND as SCID_KIND
from apps.batch.management.job_output import follow, progress_line
from apps.batch.models import BatchJob
from apps.batch.report import JobReport
from apps.batch.services import job_run_here, job_submit
from apps.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Import Sierra Chart files into the lake as batch jobs: .scid (trades, bid/ask updates, bars) and "
        ".depth (depth snapshots and updates). Only records added since the last import are read. Follows "
        "the job on the batch workers, or runs it here with --here."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument("--symbol", help="the contract (ESZ25) or root (ES), when the file name does not say")
        parser.add_argument("--from", dest="start", help="first UTC day to import (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", help="last UTC day to import (YYYY-MM-DD)")
        parser.add_argument("--price-multiplier", help="Sierra Chart's real-time price multiplier, if not 1")
        parser.add_argument("--full", action="store_true", help="import every record again, not only new ones")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--here", action="store_true", help="run the units in this process")
        mode.add_argument("--detach", action="store_true", help="queue on the batch workers and return")

    def handle(self, *args: Any, **options: Any) -> None:
        by_kind: dict[str, list[str]] = {}
        for path in options["files"]:
            kind = DEPTH_KIND if path.suffix.lower() == ".depth" else SCID_KIND
            by_kind.setdefault(kind, []).append(str(path))
        extra = {
            "symbol": options["symbol"],
            "from": options["start"],
            "to": options["end"],
            "price_multiplier": options["price_multiplier"],
            "full": "1" if options["full"] else None,
        }
        failures = []
        for kind, files in by_kind.items():
            params = {"file": ",".join(files), **{key: value for key, value in extra.items() if value}}
            try:
                job = job_submit(kind=kind, params=params, who="cli", enqueue=not options["here"])
            except ApplicationError as error:
                raise CommandError(error.message) from None
            self.stdout.write(f"job {job.pk}: {kind} of {len(files)} file(s)")
            if job.state == BatchJob.State.FAILED:
                failures.append(f"job {job.pk} failed: {job.error}")
                continue
            if options["detach"]:
                self.stdout.write(f"job {job.pk}: queued; follow with `manage.py jobs show {job.pk}`")
                continue
            if options["here"]:
                job = job_run_here(job_id=job.pk, on_unit=lambda current: self.stdout.write(progress_line(current)))
            else:
                job = follow(job.pk, out=self.stdout)
            report = JobReport.from_json(job.report)
            for warning in report.warnings:
                self.stdout.write(f"warning: {warning}")
            self.stdout.write(f"job {job.pk}: {job.state}: {report.summary()}")
            if job.state == BatchJob.State.FAILED:
                failures.append(f"job {job.pk} failed: {job.error}")
        if failures:
            raise CommandError("\n".join(failures))
