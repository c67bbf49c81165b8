"""The shared shape of `manage.py import_ticks` and `import_depth`: files in, a progress bar,
an error naming file, row and column, a line per file."""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.progress import Progress, TaskID

from apps.core.exceptions import BadInputError
from apps.storage.importers import ImportFileError, ImportResult


class ImportCommand(BaseCommand):
    noun = "rows"
    # Each command names its importer service: staticmethod(ticks_import), ...
    importer: Callable[..., ImportResult]

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--symbol", help="canonical symbol for files without a symbol column")
        parser.add_argument("--feed", default="import", help="a known feed name stored with the rows (default import)")

    def handle(self, *args: Any, **options: Any) -> None:
        run = self.importer
        with Progress(transient=True) as progress:
            for path in options["files"]:
                task = progress.add_task(f"importing {path.name}", total=None)

                def report(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                try:
                    result = run(
                        path=path,
                        lake=settings.LAKE_DIR,
                        symbol=options["symbol"],
                        feed=options["feed"],
                        progress=report,
                    )
                except ImportFileError as error:
                    raise CommandError(f"{error.message} (nothing from this file was written)") from None
                except BadInputError as error:
                    raise CommandError(f"{error.message} (nothing was written)") from None
                written = (
                    f" ({len(result.files)} partition file(s), {', '.join(result.symbols)})" if result.files else ""
                )
                self.stdout.write(
                    f"{path}: {result.new:,} new {self.noun}; {result.already:,} already in the lake{written}"
                )
