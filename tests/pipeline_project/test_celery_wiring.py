"""The Celery wiring: task names, queues, routes, limits and the default schedules."""

from __future__ import annotations

import json
import math

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core.queues import Queue
from apps.core.schedules import all_schedules
from apps.core.services import periodic_tasks_seed
from pipeline_project.celery import app

# A rename strands messages already queued under the old name: change this list on purpose.
REGISTERED = {
    "apps.alerts.tasks.alerts_backtest",
    "apps.alerts.tasks.alerts_deliver",
    "apps.core.tasks.beat_heartbeat",
    "apps.core.tasks.runtime_config_snapshot",
    "apps.gex.tasks.gex_history_import",
    "apps.gex.tasks.gex_poll",
    "apps.gex.tasks.gex_poll_keep",
    "apps.gex.tasks.gex_tickers_refresh",
    "apps.storage.tasks.compact",
    "apps.storage.tasks.flush_streams",
    "apps.storage.tasks.purge",
    "apps.uw.tasks.uw_market_tide_poll",
}


def project_tasks() -> dict[str, object]:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith("apps.")}


def test_registered_task_names_are_pinned() -> None:
    assert set(project_tasks()) == REGISTERED


def test_one_queue_per_workload() -> None:
    assert Queue.all_names() == ["default", "gex", "flush", "alerts", "batch"]
    assert {queue.name for queue in app.conf.task_queues} == set(Queue.all_names())
    assert app.conf.task_default_queue == "default"


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("apps.gex.tasks.gex_poll", "gex"),
        ("apps.gex.tasks.gex_history_import", "batch"),
        ("apps.storage.tasks.flush_streams", "flush"),
        ("apps.alerts.tasks.evaluate", "alerts"),
        ("apps.batch.tasks.import_scid", "batch"),
        ("apps.core.tasks.beat_heartbeat", "default"),
        ("apps.uw.tasks.uw_market_tide_poll", "default"),
    ],
)
def test_tasks_are_routed_by_module(task_name: str, queue: str) -> None:
    route = app.amqp.router.route({}, task_name)
    assert route["queue"].name == queue


def test_visibility_timeout_exceeds_every_task_time_limit() -> None:
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    limits = [getattr(task, "time_limit", None) or app.conf.task_time_limit for task in project_tasks().values()]
    assert app.conf.task_time_limit < timeout
    assert all(limit < timeout for limit in limits)


# Acknowledged when received, on purpose, and why. Every other task is idempotent: it is
# acknowledged only once it has run, and a worker lost mid-task puts its message back.
ACKED_ON_RECEIPT = {
    "apps.gex.tasks.gex_poll": "each run of a poll chain sends the next: the chain's next run is the retry, a "
    "redelivered backlog would burst requests at GEXBot, and a chain lost with its worker is restarted by the keeper",
}


@pytest.mark.parametrize("task_name", sorted(REGISTERED - set(ACKED_ON_RECEIPT)))
def test_idempotent_tasks_ack_late_and_reject_on_worker_loss(task_name: str) -> None:
    task = project_tasks()[task_name]
    assert task.acks_late, f"{task_name} is acknowledged before it runs: a lost worker loses it"
    assert task.reject_on_worker_lost, f"{task_name} is not put back when its worker is lost"


@pytest.mark.parametrize("task_name", sorted(ACKED_ON_RECEIPT))
def test_tasks_acked_on_receipt_are_so_on_purpose(task_name: str) -> None:
    assert task_name in REGISTERED
    assert not project_tasks()[task_name].acks_late


def test_json_only_and_events_on_for_flower() -> None:
    assert app.conf.accept_content == ["json"]
    assert app.conf.worker_send_task_events
    assert app.conf.task_send_sent_event


@pytest.mark.django_db
def test_default_schedules_are_seeded_with_expiry_and_queue() -> None:
    result = periodic_tasks_seed()
    assert set(result["created"]) == {spec.name for spec in all_schedules()}
    for spec in all_schedules():
        task = PeriodicTask.objects.get(name=spec.name)
        assert task.task == spec.task
        assert task.task in REGISTERED
        assert task.queue == spec.queue.value
        if spec.crontab is not None:
            assert task.interval is None
            assert task.crontab is not None
            assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == (
                spec.crontab.minute,
                spec.crontab.hour,
                spec.crontab.day_of_week,
            )
            assert str(task.crontab.timezone) == spec.crontab.timezone
            assert task.expire_seconds == 3600
        else:
            assert task.interval is not None
            assert task.interval.every == spec.every_seconds
            assert task.expire_seconds == math.ceil((spec.every_seconds or 0) * 1.5)


@pytest.mark.django_db
def test_seeding_again_keeps_admin_edits() -> None:
    periodic_tasks_seed()
    spec = all_schedules()[0]
    task = PeriodicTask.objects.get(name=spec.name)
    slower, _ = IntervalSchedule.objects.get_or_create(every=120, period=IntervalSchedule.SECONDS)
    task.interval, task.enabled = slower, False
    task.save()

    assert periodic_tasks_seed() == {"created": [], "updated": []}
    task.refresh_from_db()
    assert task.interval == slower
    assert task.enabled is False
    assert PeriodicTask.objects.filter(name=spec.name).count() == 1
    assert json.loads(task.kwargs) == spec.kwargs


@pytest.mark.django_db
def test_purge_and_compaction_run_after_the_close_on_weekdays_new_york_time() -> None:
    periodic_tasks_seed()
    for name, minute in (("storage: retention purge", "15"), ("storage: compact closed partitions", "30")):
        task = PeriodicTask.objects.get(name=name)
        assert task.crontab is not None
        assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == ("17", minute, "mon-fri")
        assert str(task.crontab.timezone) == "America/New_York"
        # What the admin's list shows for the row.
        assert "America/New_York" in str(task.crontab)


@pytest.mark.django_db
def test_an_upgrade_moves_unedited_daily_rows_to_the_crontab_and_retires_the_per_second_poll() -> None:
    """Rows an earlier version seeded: the purge still at its old 24 h interval moves to the
    crontab; the compaction an operator set to 12 h keeps it; the per-second GEX polls go."""
    daily, _ = IntervalSchedule.objects.get_or_create(every=86400, period=IntervalSchedule.SECONDS)
    twelve_hours, _ = IntervalSchedule.objects.get_or_create(every=43200, period=IntervalSchedule.SECONDS)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="storage: retention purge", task="apps.storage.tasks.purge", interval=daily)
    PeriodicTask.objects.create(
        name="storage: compact closed partitions", task="apps.storage.tasks.compact", interval=twelve_hours
    )
    for name in ("gex: poll", "gex: poll NQ"):
        PeriodicTask.objects.create(name=name, task="apps.gex.tasks.gex_poll", interval=every_second)

    periodic_tasks_seed()

    purge = PeriodicTask.objects.get(name="storage: retention purge")
    assert purge.interval is None
    assert purge.crontab is not None
    assert purge.crontab.hour == "17"
    assert PeriodicTask.objects.get(name="storage: compact closed partitions").interval == twelve_hours
    assert not PeriodicTask.objects.filter(name__in=["gex: poll", "gex: poll NQ"]).exists()
    assert not PeriodicTask.objects.filter(interval=every_second).exists(), "no task runs every second"
