from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from apps.core.config_report import config_check, config_diff, config_rows
from pipeline_project.env import ConfigError


class Command(BaseCommand):
    help = "Show, check or diff the platform's configuration (secrets are always masked)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="every variable, its effective value and where it came from")
        show.add_argument(
            "--worker", action="store_true", help="also ask a running worker for the runtime settings it sees"
        )
        sub.add_parser(
            "check", help="validate variables and reach Redis, the database and the lake; exit 1 on a problem"
        )
        diff = sub.add_parser("diff", help="variables that differ from the defaults, or from another env file")
        diff.add_argument("--against", type=Path, help="an env file to compare the current configuration with")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), width=160, soft_wrap=True)
        action = options["action"]
        try:
            if action == "show":
                self._show(console, worker=options["worker"])
            elif action == "check":
                self._check(console)
            else:
                self._diff(console, against=options["against"])
        except ConfigError as error:
            raise CommandError(str(error)) from None

    def _show(self, console: Console, *, worker: bool) -> None:
        table = Table("variable", "value", "source", title="Environment")
        for row in config_rows():
            table.add_row(row.variable, row.value, row.source)
        console.print(table)
        from apps.core.runtime_config import runtime_config_snapshot

        runtime = Table("key", "value", title="Runtime settings (admin)")
        for key, value in runtime_config_snapshot()["values"].items():
            runtime.add_row(key, repr(value))
        console.print(runtime)
        if worker:
            from apps.core.tasks import runtime_config_snapshot as snapshot_task

            try:
                seen = snapshot_task.delay().get(timeout=10)
            except Exception as error:  # noqa: BLE001 - any failure means "no worker answered"
                raise CommandError(f"no worker answered within 10 s ({type(error).__name__}: {error})") from None
            console.print(f"worker pid {seen['pid']} sees version {seen['version']}: {seen['values']}")

    def _check(self, console: Console) -> None:
        lines = config_check(lake_dir=settings.LAKE_DIR)
        for line in lines:
            state = "warn" if line.warning else ("ok" if line.ok else "FAIL")
            console.print(f"{state:>4}  {line.name}: {line.detail}", markup=False, highlight=False)
        failing = [line.name for line in lines if not line.ok]
        if failing:
            raise CommandError(f"configuration check failed: {', '.join(failing)}")

    def _diff(self, console: Console, *, against: Path | None) -> None:
        if against is not None and not against.is_file():
            raise CommandError(f"--against {against}: no such file")
        rows = config_diff(against=against)
        if not rows:
            console.print("no differences")
            return
        table = Table("variable", str(against) if against else "default", "current", title="Differences")
        for row in rows:
            table.add_row(row.variable, row.left, row.right)
        console.print(table)
