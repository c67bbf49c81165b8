"""The trading kill switch over the REST control API: staff only, audited twice (the control
audit and the trade audit), and in force for the next order check at once."""

from __future__ import annotations

import pytest

from apps.accounts.models import ControlAction
from apps.trading.models import TradeAudit
from apps.trading.selectors import kill_switch_on
from tests.apps.api.conftest import Caller

pytestmark = pytest.mark.django_db
PATH = "/api/control/trading/kill-switch"


def test_staff_switches_it_on_and_off_and_each_flip_is_audited(staff: Caller) -> None:
    on = staff.post(PATH, {"on": True, "reason": "runaway fills"})
    assert on.status_code == 200, on.content
    assert on.json()["on"] is True
    assert on.json()["changed_by"] == "operator"
    assert kill_switch_on()
    off = staff.post(PATH, {"on": False})
    assert off.status_code == 200
    assert not kill_switch_on()
    actions = ControlAction.objects.filter(action="trading.kill_switch", outcome=ControlAction.Outcome.OK)
    assert [row.params["on"] for row in actions.order_by("id")] == [True, False]
    flips = TradeAudit.objects.filter(kind=TradeAudit.Kind.KILL_SWITCH).order_by("id")
    assert [row.result["on"] for row in flips] == [True, False]
    assert flips[0].source == "api"
    assert "runaway fills" in flips[0].message


def test_a_non_staff_caller_is_refused_and_the_refusal_audited(reader: Caller) -> None:
    response = reader.post(PATH, {"on": True})
    assert response.status_code == 403
    assert not kill_switch_on()
    assert ControlAction.objects.filter(action="trading.kill_switch", outcome=ControlAction.Outcome.DENIED).exists()


def test_a_body_without_on_is_refused_naming_the_field(staff: Caller) -> None:
    response = staff.post(PATH, {"reason": "x"})
    assert response.status_code == 422
    assert "on" in response.content.decode()
    assert not kill_switch_on()


def test_a_reason_holding_a_nul_character_is_refused_naming_the_field_and_nothing_changes(staff: Caller) -> None:
    """PostgreSQL cannot store NUL: found by the OpenAPI fuzzing as a 500 at the save."""
    response = staff.post(PATH, {"on": True, "reason": "fat\u0000finger"})
    assert response.status_code == 422, response.content
    assert "reason" in response.content.decode()
    assert not kill_switch_on()
    assert not TradeAudit.objects.filter(kind=TradeAudit.Kind.KILL_SWITCH).exists()
