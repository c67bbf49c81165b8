"""Alert tasks (queue `alerts`): send the deliveries that are due. The engine process sends them
too; both claim each row before sending, so none is sent twice."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from celery import shared_task

from apps.alerts.backtest import backtest_run
from apps.alerts.deliveries import deliveries_run
from apps.alerts.models import AlertRule
from apps.core.progress import task_progress


# Idempotent: every delivery is claimed before it is sent, so a redelivered message finds the
# rows done or claimed. Expires with its interval (beat sends one every 30 s).
@shared_task(
    name="apps.alerts.tasks.alerts_deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=300,
)
def alerts_deliver() -> dict[str, int]:
    return {"attempted": deliveries_run()}


# Read-only over the lake: a redelivered message runs the same backtest again.
@shared_task(
    bind=True,
    name="apps.alerts.tasks.alerts_backtest",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=1700,
    time_limit=1800,
)
def alerts_backtest(self: Any, rule_id: int, start: str, end: str) -> dict[str, Any]:
    """The admin's backtest button: the report as a dict, progress (days done) as the task's state."""
    report = backtest_run(
        rule=AlertRule.objects.get(pk=int(rule_id)),
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        progress=task_progress(self, what="days backtested"),
    )
    return asdict(report) | {"start": report.start.isoformat(), "end": report.end.isoformat()}
