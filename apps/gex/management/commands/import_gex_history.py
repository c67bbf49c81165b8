from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.progress import Progress

from apps.core.redaction import redact
from apps.gex.models import GEXImportJob
from apps.gex.services.imports import (
    GEXImportError,
    gex_import_retry,
    gex_import_run,
    gex_import_submit,
    history_day_check,
    trading_days,
)

Kind = GEXImportJob.Kind


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Import GEX history: a presigned download URL, a vendor history file (a JSON array of snapshots), "
        "or GEXBot's history for each NYSE trading day of a range. Submits jobs to the batch queue and "
        "prints their ids, or with --wait runs them here with a progress bar."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--url", help="a history download URL (e.g. GEXBot's presigned link)")
        source.add_argument("--file", type=Path, help="a history file: the vendor's JSON array, gzip or not")
        source.add_argument("--date-from", help="first day (YYYY-MM-DD) to fetch from GEXBot's history")
        parser.add_argument("--date-to", help="last day (YYYY-MM-DD), default --date-from; only trading days run")
        parser.add_argument("--ticker", default="SPX")
        parser.add_argument("--package", default="classic", help="classic or state")
        parser.add_argument("--category", default="gex_full", help="gex_full, gex_zero, gex_one, or a greek")
        parser.add_argument("--wait", action="store_true", help="run the import here and wait, with a progress bar")

    def _sources(self, options: dict[str, Any]) -> list[tuple[str, str]]:
        if options["date_to"] and not options["date_from"]:
            raise CommandError("--date-to needs --date-from")
        if options["url"]:
            return [(Kind.URL, options["url"])]
        if options["file"]:
            path: Path = options["file"]
            if not path.is_file():
                raise CommandError(f"--file {path}: no such file")
            return [(Kind.FILE, str(path))]
        start = _date(options["date_from"])
        end = _date(options["date_to"]) if options["date_to"] else start
        days = trading_days(start=start, end=end)
        if not days:
            raise CommandError(f"no NYSE trading days from {start.isoformat()} to {end.isoformat()}")
        for day in days:
            history_day_check(day)
        skipped = (end - start).days + 1 - len(days)
        if skipped:
            self.stdout.write(f"{skipped} day(s) in the range are not NYSE trading days and are skipped")
        return [(Kind.DATE, day.isoformat()) for day in days]

    def handle(self, *args: Any, **options: Any) -> None:
        target = {"ticker": options["ticker"], "package": options["package"], "category": options["category"]}
        wait = options["wait"]
        try:
            sources = self._sources(options)
            # Every submission is checked before any job runs: a bad argument leaves no jobs behind.
            submitted = [
                gex_import_submit(kind=kind, source=source, enqueue=not wait, **target) for kind, source in sources
            ]
        except GEXImportError as error:
            raise CommandError(error.message) from None
        failures = []
        for job, created in submitted:
            if not created and job.state == GEXImportJob.State.FAILED:
                # Asking again for an import that failed is asking to try it again.
                self.stdout.write(f"job {job.pk}: failed before ({redact(job.error)}); trying again")
                gex_import_retry(job_ids=[job.pk], enqueue=not wait)
            elif not created:
                self.stdout.write(f"job {job.pk}: already submitted ({job.state}), {self._counts(job)}")
                continue
            if not wait:
                self.stdout.write(f"job {job.pk}: queued {redact(job.source)}")
                continue
            done = self._run(job)
            if done.state == GEXImportJob.State.FAILED:
                failures.append(f"job {done.pk} failed: {redact(done.error)}")
            else:
                self.stdout.write(f"job {done.pk}: {redact(done.source)}: {self._counts(done)}")
        if failures:
            raise CommandError("\n".join(failures))

    @staticmethod
    def _counts(job: GEXImportJob) -> str:
        return f"{job.rows_imported:,} new of {job.progress_total:,} snapshots"

    def _run(self, job: GEXImportJob) -> GEXImportJob:
        with Progress(transient=True) as bar:
            task = bar.add_task(f"job {job.pk}: importing {job.ticker}/{job.package}/{job.category}", total=None)

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            gex_import_run(job_id=job.pk, progress=report)
        job.refresh_from_db()
        return job
