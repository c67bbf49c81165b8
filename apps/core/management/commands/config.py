from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.config_report import config_check, config_diff, config_rows
from pipeline_project.env import ConfigError


class Command(BaseCommand):
    help = "Show, check or diff the platform's configuration (secrets are always masked)."
    # `config check` runs the system checks itself and reports each as a line; `show` and `diff`
    # must work on a configuration those checks refuse, to help fix it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="every variable, its effective value and where it came from")
        show.add_argument(
            "--worker", action="store_true", help="also ask a running worker for the runtime settings it sees"
        )
        sub.add_parser(
            "check",
            help="run the system checks (as `manage.py check`), reach Redis and the database; exit 1 on a problem",
        )
        diff = sub.add_parser("diff", help="variables that differ from the defaults, or from another env file")
        diff.add_argument("--against", type=Path, help="an env file to compare the current configuration with")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "show":
                self._show(worker=options["worker"])
            elif action == "check":
                self._check()
            else:
                self._diff(against=options["against"])
        except ConfigError as error:
            raise CommandError(str(error)) from None

    def _table(self, title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        # Plain aligned columns, never truncated: operators grep and diff this output.
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
        self.stdout.write(title)
        for row in (header, *rows):
            self.stdout.write(
                "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
        self.stdout.write("")

    def _show(self, *, worker: bool) -> None:
        from apps.core.runtime_config import runtime_config_snapshot

        self._table(
            "Environment", ("variable", "value", "source"), [(r.variable, r.value, r.source) for r in config_rows()]
        )
        runtime = runtime_config_snapshot()
        self._table(
            f"Runtime settings (admin, version {runtime['version']})",
            ("key", "value"),
            [(key, json.dumps(value)) for key, value in runtime["values"].items()],
        )
        if worker:
            from apps.core.tasks import runtime_config_snapshot as snapshot_task

            try:
                seen = snapshot_task.delay().get(timeout=10)
            except Exception as error:  # noqa: BLE001 - any failure means "no worker answered"
                raise CommandError(f"no worker answered within 10 s ({type(error).__name__}: {error})") from None
            self._table(
                f"Runtime settings seen by worker pid {seen['pid']} (version {seen['version']})",
                ("key", "value"),
                [(key, json.dumps(value)) for key, value in seen["values"].items()],
            )

    def _check(self) -> None:
        lines = config_check()
        for line in lines:
            state = "warn" if line.warning else ("ok" if line.ok else "FAIL")
            self.stdout.write(f"{state:>4}  {line.name}: {line.detail}")
        failing = [line.name for line in lines if not line.ok]
        if failing:
            raise CommandError(f"configuration check failed: {', '.join(failing)}")

    def _diff(self, *, against: Path | None) -> None:
        if against is not None and not against.is_file():
            raise CommandError(f"--against {against}: no such file")
        rows = config_diff(against=against)
        if not rows:
            self.stdout.write("no differences")
            return
        header = ("variable", str(against) if against else "default", "current")
        self._table("Differences", header, [(row.variable, row.left, row.right) for row in rows])
