"""Every staff control action leaves one audit row, whether it was done, failed or refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

from apps.accounts.models import ControlAction
from apps.accounts.services import control_perform, token_create
from apps.core.exceptions import NotFoundError

pytestmark = pytest.mark.django_db


def test_a_staff_action_is_done_and_audited_with_its_result() -> None:
    operator = User.objects.create_user(username="operator", is_staff=True)
    token, _ = token_create(user=operator, name="desk")
    result = control_perform(
        user=operator, token=token, action="flush", params={"why": "test"}, perform=lambda: {"task_id": "t-1"}
    )
    assert result == {"task_id": "t-1"}
    row = ControlAction.objects.get()
    assert (row.user, row.token, row.action, row.params, row.outcome, row.detail) == (
        operator,
        token,
        "flush",
        {"why": "test"},
        ControlAction.Outcome.OK,
        {"task_id": "t-1"},
    )


def test_a_caller_who_is_not_staff_is_refused_before_the_action_runs() -> None:
    ran: list[bool] = []

    def perform() -> dict[str, Any]:
        ran.append(True)
        return {}

    for user in (User.objects.create_user(username="reader"), AnonymousUser()):
        with pytest.raises(PermissionDenied, match="purge needs a staff user"):
            control_perform(user=user, token=None, action="purge", params={}, perform=perform)
    assert not ran
    assert [(row.user_id, row.outcome) for row in ControlAction.objects.order_by("pk")] == [
        (User.objects.get(username="reader").pk, ControlAction.Outcome.DENIED),
        (None, ControlAction.Outcome.DENIED),
    ]


def test_an_action_that_fails_is_audited_with_its_error_and_the_error_goes_on() -> None:
    operator = User.objects.create_user(username="operator", is_staff=True)

    def perform() -> dict[str, Any]:
        raise NotFoundError("unknown streamer 'bloomberg'")

    with pytest.raises(NotFoundError):
        control_perform(
            user=operator, token=None, action="streamer.stop", params={"name": "bloomberg"}, perform=perform
        )
    row = ControlAction.objects.get()
    assert row.outcome == ControlAction.Outcome.FAILED
    assert row.detail == {"error": "NotFoundError: unknown streamer 'bloomberg'"}
