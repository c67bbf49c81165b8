"""Alert tasks (queue `alerts`): send the deliveries that are due. The engine process sends them
too; both claim each row before sending, so none is sent twice."""

from __future__ import annotations

from celery import shared_task

from apps.alerts.deliveries import deliveries_run


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
