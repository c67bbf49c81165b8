"""`manage.py alerts_backtest RULE --from YYYY-MM-DD --to YYYY-MM-DD [--csv FILE]`: run a rule (by
id or name) over the lake's history with the live engine's evaluation code; prints the matches
per day and the first 100 with their inputs, and writes them as CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.alerts.backtest import backtest_run
from apps.alerts.models import AlertRule
from apps.core.exceptions import ApplicationError


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Backtest an alert rule over the lake's history and report its matches."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("rule", help="the rule's id or name")
        parser.add_argument("--from", dest="start", required=True, help="first day (UTC), YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day (UTC), YYYY-MM-DD")
        parser.add_argument("--csv", dest="csv", default=None, help="write the first 100 matches to this CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["rule"]
        rule = AlertRule.objects.filter(pk=int(name)).first() if name.isdigit() else None
        rule = rule or AlertRule.objects.filter(name=name).first()
        if rule is None:
            raise CommandError(f"no alert rule {name!r}")
        console = Console(file=cast(IO[str], self.stdout), width=160)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=cast(IO[str], self.stderr)),
        ) as bar:
            task = bar.add_task(f"backtest {rule.name}", total=None)
            try:
                report = backtest_run(
                    rule=rule,
                    start=_day(options["start"]),
                    end=_day(options["end"]),
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            except ApplicationError as error:
                raise CommandError(error.message) from None
        for table in report.missing:
            console.print(f"the lake has no {table} table yet: nothing to test against")
        days = Table(title=f"{report.rule}: {report.matches} matches in {report.inputs} inputs")
        days.add_column("day")
        days.add_column("matches", justify="right")
        for day, count in sorted(report.per_day.items()):
            days.add_row(day, str(count))
        console.print(days)
        first = Table(title=f"first {len(report.first)} matches")
        for column in ("event time", "symbol", "position", "key", "input"):
            first.add_column(column, overflow="fold")
        for match in report.first:
            first.add_row(
                match["event_time"], match["symbol"], match["position"], match["key"], match["input_json"][:200]
            )
        console.print(first)
        if options["csv"]:
            Path(options["csv"]).write_text(report.csv())
            console.print(f"CSV written to {options['csv']}")
