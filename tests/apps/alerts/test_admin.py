"""The admin refuses a rule that cannot compile on the field that is wrong, saves nothing, and
runs a backtest from the rule's page."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from apps.alerts.models import AlertRule
from apps.alerts.services import rule_save
from apps.core.redis import get_redis
from apps.marketdata.events import Side, Trade
from apps.storage.flush import streams_flush
from tests.factories import write

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "a@example.invalid", "pw"))
    return client


FORM = {
    "name": "SPX sweeps",
    "description": "",
    "enabled": "on",
    "source": "uw_option_trades",
    "match": "all",
    "conditions": '[{"kind": "flag", "flag": "sweep"}]',
    "session": "any",
    "cooldown_seconds": "0",
    "cooldown_key": "symbol",
    "dedup_seconds": "0",
    "actions": '[{"kind": "websocket"}]',
}


def test_a_rule_that_compiles_is_saved(admin: Client) -> None:
    response = admin.post("/admin/alerts/alertrule/add/", FORM)
    assert response.status_code == 302, response.content
    assert AlertRule.objects.get().conditions == [{"kind": "flag", "flag": "sweep"}]


def test_a_rule_that_cannot_compile_is_refused_on_its_field(admin: Client) -> None:
    response = admin.post("/admin/alerts/alertrule/add/", {**FORM, "source": "gex_snapshots"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "conditions" in errors
    assert "conditions[0].kind" in errors["conditions"][0]
    assert not AlertRule.objects.exists()


def test_the_backtest_button_runs_on_the_alerts_queue_with_a_progress_bar_then_the_report(
    settings: Settings, tmp_path: Path, celery_worker: object
) -> None:
    """Wednesday 2024-09-18 in the lake; the admin's button queues the backtest, the page follows
    it, then shows the days, the matches and the CSV."""
    settings.LAKE_DIR = tmp_path / "lake"
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "a@example.invalid", "pw"))
    rule = rule_save(
        data={
            "name": "ES buyers",
            "source": "md_trades",
            "conditions": [{"kind": "side", "side": "ask"}],
            "session": "regular",
            "cooldown_seconds": 3600,
        }
    )
    at = datetime(2024, 9, 18, 14, 0, tzinfo=UTC)
    trades = [
        Trade("ESZ24", ns, ns, 5700.0 + index, 1, Side.BUY, "simulator", index)
        for index, ns in enumerate(int((at + timedelta(minutes=10 * i)).timestamp()) * 10**9 for i in range(30))
    ]
    write([trades])
    streams_flush(client=get_redis(), lake=settings.LAKE_DIR)
    page = f"/admin/alerts/alertrule/{rule.pk}/backtest/"
    queued = client.get(page, {"start": "2024-09-18", "end": "2024-09-18"})
    assert queued.status_code == 302
    followed = queued["Location"]
    deadline = time.monotonic() + 60
    response = client.get(followed)
    while b"matches in" not in response.content:
        assert b"backtest-progress" in response.content  # the progress bar, while it runs
        assert time.monotonic() < deadline
        time.sleep(0.2)
        response = client.get(followed)
    # 14:00 to 18:50 UTC (10:00 to 14:50 New York) with an hour's cooldown: 5 alerts.
    assert b"5 matches in 30 inputs" in response.content
    csv = client.get(f"{followed}&format=csv")
    assert csv["Content-Type"] == "text/csv"
    assert len(csv.content.decode().splitlines()) == 1 + 5


def test_the_backtest_page_refuses_a_reversed_range(admin: Client) -> None:
    admin.post("/admin/alerts/alertrule/add/", FORM)
    rule = AlertRule.objects.get()
    response = admin.get(f"/admin/alerts/alertrule/{rule.pk}/backtest/", {"start": "2024-09-18", "end": "2024-09-01"})
    assert response.status_code == 200
    assert b"give an end on or after the start" in response.content
