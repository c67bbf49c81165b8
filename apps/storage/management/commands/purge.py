from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.storage.registry import retention_categories
from apps.storage.retention import purge_run


class Command(BaseCommand):
    help = "Remove data past its retention policy (lake files and Redis stream ranges), with an audit row."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the plan and record it; touch nothing")
        parser.add_argument("--type", choices=retention_categories(), help="one data type only")
        parser.add_argument(
            "--before", help="remove lake partitions before this date (YYYY-MM-DD) instead of the policy's cutoff"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        before = None
        if options["before"]:
            try:
                before = date.fromisoformat(options["before"])
            except ValueError:
                raise CommandError(f"--before {options['before']!r} is not a date (YYYY-MM-DD)") from None
        run = purge_run(
            dry_run=options["dry_run"], triggered_by="manage.py purge", data_type=options["type"], before=before
        )
        for cutoff in run.plan.get("cutoffs", []):
            lake = f"before {cutoff['lake_before']}" if cutoff["lake_before"] else "nothing"
            self.stdout.write(
                f"cutoff  {cutoff['data_type']}: lake {lake} ({cutoff['lake_reason']}); "
                f"Redis before {cutoff['hot_before']} (hot window {cutoff['hot_window_minutes']} min)"
            )
        if not run.plan.get("cutoffs"):
            self.stdout.write(
                "no enabled retention policy applies: nothing is removed (admin: Lake > Retention policies)"
            )
        for item in run.plan["files"]:
            self.stdout.write(f"file    {item['path']}  ({item['bytes']:,} bytes)")
        for trim in run.plan["trims"]:
            self.stdout.write(f"stream  {trim['key']}: {trim['entries']:,} entries below {trim['min_id']}")
        entries = sum(trim["entries"] for trim in run.plan["trims"])
        self.stdout.write(
            f"plan: {len(run.plan['files'])} files, {run.plan['bytes']:,} bytes, {entries:,} stream entries"
        )
        if options["dry_run"]:
            self.stdout.write(f"dry run: nothing removed (audit row {run.pk})")
        else:
            self.stdout.write(f"{run.status}: {run.bytes_freed:,} bytes freed (audit row {run.pk})")
            if run.status != run.Status.DONE:
                raise CommandError(f"purge failed: {run.result}")
