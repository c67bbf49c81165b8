"""The admin's beat schedules: interval and crontab only, and a crontab task saved from the form."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_celery_beat.models import CrontabSchedule, PeriodicTask


@pytest.fixture
def admin_client(db: None) -> Client:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests")
    client = Client()
    client.force_login(user)
    return client


def test_solar_and_clocked_schedules_are_not_offered(admin_client: Client) -> None:
    page = admin_client.get("/admin/django_celery_beat/periodictask/add/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="interval"' in html
    assert 'name="crontab"' in html
    assert 'name="solar"' not in html
    assert 'name="clocked"' not in html
    assert admin_client.get("/admin/django_celery_beat/solarschedule/").status_code == 404
    assert admin_client.get("/admin/django_celery_beat/clockedschedule/").status_code == 404
    index = admin_client.get("/admin/").content.decode()
    assert "Solar" not in index
    assert "Clocked" not in index


def test_a_task_on_a_crontab_is_saved_from_the_form(admin_client: Client) -> None:
    crontab = CrontabSchedule.objects.create(minute="45", hour="17", day_of_week="mon-fri", timezone="America/New_York")
    answer = admin_client.post(
        "/admin/django_celery_beat/periodictask/add/",
        {
            "name": "evening purge",
            "regtask": "apps.storage.tasks.purge",
            "task": "",
            "enabled": "on",
            "crontab": crontab.pk,
            "args": "[]",
            "kwargs": "{}",
            "headers": "{}",
            "expire_seconds": "3600",
            "queue": "flush",
            "priority": "",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[-3000:]
    task = PeriodicTask.objects.get(name="evening purge")
    assert task.crontab == crontab
    assert task.task == "apps.storage.tasks.purge"
