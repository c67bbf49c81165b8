"""The trading kill switch from the REST control API (staff only): audited like every control
endpoint (a ControlAction row, denied or not) and in the trade audit (who flipped it, when)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import StrictBool

from apps.accounts.services import control_perform
from apps.api.auth import request_caller
from apps.api.inputs import STORABLE_TEXT, json_object_check
from apps.api.schemas import STAFF_ONLY
from apps.trading.selectors import Requester
from apps.trading.services.kill_switch import kill_switch_set

router = Router(tags=["control"])


class KillSwitchIn(Schema):
    on: StrictBool = Field(description="true stops every new order (cancels still go through); false allows them again")
    reason: str = Field("", max_length=200, pattern=STORABLE_TEXT)


class KillSwitchOut(Schema):
    on: bool
    changed_at: datetime | None
    changed_by: str
    reason: str


@router.post(
    "/control/trading/kill-switch",
    response={200: KillSwitchOut, **STAFF_ONLY},
    summary="Switch the trading kill switch on or off",
)
def kill_switch(request: HttpRequest, body: KillSwitchIn) -> Any:
    json_object_check(request)
    caller = request_caller(request)

    def perform() -> dict[str, Any]:
        switch = kill_switch_set(
            on=body.on, requester=Requester(user=str(caller.user), source="api"), reason=body.reason
        )
        changed_at = switch.changed_at.isoformat() if switch.changed_at else None
        return {"on": switch.on, "changed_at": changed_at, "changed_by": switch.changed_by, "reason": switch.reason}

    return control_perform(
        user=caller.user,
        token=caller.token,
        action="trading.kill_switch",
        params=body.model_dump(mode="json"),
        perform=perform,
    )
