"""The admin refuses a rule that cannot compile on the field that is wrong, saves nothing, and
runs a backtest from the rule's page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.alerts.models import AlertRule

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


def test_the_backtest_page_answers_for_a_lake_without_the_table(
    admin: Client, settings: object, tmp_path: object
) -> None:
    admin.post("/admin/alerts/alertrule/add/", FORM)
    rule = AlertRule.objects.get()
    response = admin.get(f"/admin/alerts/alertrule/{rule.pk}/backtest/", {"start": "2024-09-18", "end": "2024-09-18"})
    assert response.status_code == 200
    assert b"0 matches" in response.content
