"""The staff REST API of alert rules: CRUD, enable/disable, test-fire, audited; a rule that
cannot compile is refused with 422 naming the field, and nothing is saved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.accounts.models import ControlAction
from apps.alerts.models import AlertDelivery, AlertEvent, AlertRule
from tests.apps.api.conftest import Caller, make_caller

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db: None) -> Caller:
    return make_caller("operator", staff=True)


@pytest.fixture
def reader(db: None) -> Caller:
    return make_caller("reader", staff=False)


RULE: dict[str, Any] = {
    "name": "SPX calls over $1M",
    "source": "uw_option_trades",
    "conditions": [
        {"kind": "ticker_in", "tickers": ["SPX", "SPXW"]},
        {"kind": "option_type", "type": "call"},
        {"kind": "premium_at_least", "min": "1000000"},
        {"kind": "flag", "flag": "sweep"},
    ],
    "session": "regular",
    "cooldown_seconds": 60,
    "actions": [{"kind": "webhook", "url": "https://example.invalid/hook", "secret": "s" * 32}, {"kind": "websocket"}],
}


def _send(caller: Caller, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return caller.client.generic(
        method,
        path,
        data=json.dumps(body or {}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {caller.secret}"},
    )


def test_create_read_replace_disable_enable_and_delete(staff: Caller) -> None:
    created = staff.post("/api/alerts/rules", RULE)
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["conditions"][2] == {"kind": "premium_at_least", "min": "1000000"}
    assert rule["actions"][0] == {"kind": "webhook", "url": "***", "secret": "***"}  # never echoed
    path = f"/api/alerts/rules/{rule['id']}"
    assert staff.get(path).json()["name"] == "SPX calls over $1M"
    replaced = _send(staff, "PUT", path, {**RULE, "cooldown_seconds": 300})
    assert replaced.status_code == 200
    assert replaced.json()["cooldown_seconds"] == 300
    assert replaced.json()["version"] == 2
    assert staff.post(f"{path}/disable").json()["enabled"] is False
    assert staff.post(f"{path}/enable").json()["enabled"] is True
    assert _send(staff, "DELETE", path).status_code == 204
    assert staff.get(path).status_code == 404
    audited = list(ControlAction.objects.order_by("pk").values_list("action", "outcome"))
    assert audited == [
        ("alerts.rule_create", "ok"),
        ("alerts.rule_update", "ok"),
        ("alerts.rule_disable", "ok"),
        ("alerts.rule_enable", "ok"),
        ("alerts.rule_delete", "ok"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": "gex_snapshots"}, "conditions[1].kind"),  # a call/put condition on GEX snapshots
        ({"actions": [{"kind": "webhook", "url": "https://x.invalid", "secret": "short"}]}, "actions[0].secret"),
        ({"conditions": [{"kind": "dte", "min": 9, "max": 2}]}, "conditions"),
        # NUL cannot be stored by PostgreSQL: a 422 naming where, not a 500 at the save.
        ({"description": "big\u0000print"}, "description"),
        ({"actions": [{"kind": "pubsub", "channel": "alerts\u0000spx"}]}, "actions[0].channel"),
    ],
)
def test_a_rule_that_cannot_compile_is_refused_naming_the_field_and_not_saved(
    staff: Caller, change: dict[str, Any], field: str
) -> None:
    refused = staff.post("/api/alerts/rules", {**RULE, **change})
    assert refused.status_code == 422, refused.content
    assert any(field in ".".join(map(str, error["loc"])) or field in error["msg"] for error in refused.json()["detail"])
    assert not AlertRule.objects.exists()


def test_an_edit_that_cannot_compile_leaves_the_rule_as_it_was(staff: Caller) -> None:
    rule = staff.post("/api/alerts/rules", RULE).json()
    refused = _send(staff, "PUT", f"/api/alerts/rules/{rule['id']}", {**RULE, "source": "md_trades", "name": "x"})
    assert refused.status_code == 422
    stored = AlertRule.objects.get()
    assert (stored.name, stored.source, stored.version) == ("SPX calls over $1M", "uw_option_trades", 1)
    assert ControlAction.objects.filter(action="alerts.rule_update", outcome="failed").count() == 1


def test_test_fire_sends_through_every_action(staff: Caller) -> None:
    rule = staff.post("/api/alerts/rules", RULE).json()
    fired = staff.post(f"/api/alerts/rules/{rule['id']}/test-fire")
    assert fired.status_code == 200
    assert fired.json()["deliveries"] == 2
    event = AlertEvent.objects.get()
    assert event.test
    assert sorted(AlertDelivery.objects.values_list("kind", flat=True)) == ["webhook", "websocket"]


def test_rules_are_for_staff_only_and_refusals_are_audited(reader: Caller) -> None:
    assert reader.get("/api/alerts/rules").status_code == 403
    assert reader.post("/api/alerts/rules", RULE).status_code == 403
    assert not AlertRule.objects.exists()
    assert ControlAction.objects.filter(action="alerts.rule_create", outcome="denied").count() == 1
