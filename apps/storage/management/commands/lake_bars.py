"""`manage.py lake_bars`: build the one-minute bars the lake keeps beside its trades
(apps/storage/minute_bars.py) for every closed day whose bars are missing or no longer match
its trades, then the monthly roll-up of those bars wherever it is missing or stale. Compaction
does this every evening; run it after restoring a lake, importing into past days, or to see how
many days and months are behind (`--check`)."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.progress import Progress

from apps.core.clock import utc_now
from apps.storage.minute_bars import minute_bars_rebuild, stale_months, stale_partitions


class Command(BaseCommand):
    help = (
        "Build the lake's one-minute bars (and their monthly roll-ups) for closed days whose bars are missing or stale."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--before", help="only days before YYYY-MM-DD (default: today, UTC: closed days)")
        parser.add_argument("--check", action="store_true", help="list the stale days and build nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            before = date.fromisoformat(options["before"]) if options["before"] else utc_now().date()
        except ValueError:
            raise CommandError(f"--before {options['before']!r} is not a date (YYYY-MM-DD)") from None
        lake = Path(settings.LAKE_DIR)
        if options["check"]:
            stale = stale_partitions(lake, before=before)
            for day, symbol in stale:
                self.stdout.write(f"{day.isoformat()} {symbol}")
            self.stdout.write(f"{len(stale)} day(s) without current one-minute bars before {before.isoformat()}")
            months = stale_months(lake, before=before)
            for month, symbol in months:
                self.stdout.write(f"{month:%Y-%m} {symbol}")
            self.stdout.write(f"{len(months)} month(s) without a current roll-up of those bars")
            return
        with Progress(transient=True) as progress:
            task = progress.add_task("building one-minute bars", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            built = minute_bars_rebuild(lake=lake, before=before, progress=report)
        self.stdout.write(f"built the one-minute bars of {built} day(s) before {before.isoformat()}")
