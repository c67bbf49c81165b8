"""Alert rules (staff only): list, read, create, replace, delete, enable, disable and test-fire.
Every write leaves a ControlAction audit row; a rule that cannot compile is answered 422 naming
the field, and nothing is saved."""

from __future__ import annotations

from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Path, Router, Schema
from pydantic import Field

from apps.accounts.services import control_perform
from apps.alerts.conditions import Condition
from apps.alerts.models import AlertRule, CooldownKey, Match, SessionFilter, Source
from apps.alerts.services import alert_test_fire, rule_delete, rule_enable, rule_save
from apps.api.auth import request_caller
from apps.api.inputs import STORABLE_TEXT, json_object_check, storable_check
from apps.api.schemas import STAFF_ONLY
from apps.core.exceptions import NotFoundError

router = Router(tags=["alerts"])
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_SECRETS = {"secret", "url", "webhook_url"}


class RuleIn(Schema):
    name: str = Field(min_length=1, max_length=100, pattern=STORABLE_TEXT)
    description: str = Field(default="", max_length=10_000, pattern=STORABLE_TEXT)
    enabled: bool = Field(default=True, strict=True)
    source: Source
    match: Match = Match.ALL
    conditions: list[Condition] = Field(default_factory=list, max_length=50)
    session: SessionFilter = SessionFilter.ANY
    cooldown_seconds: int = Field(default=0, ge=0, le=7 * 86_400, strict=True)
    cooldown_key: CooldownKey = CooldownKey.SYMBOL
    dedup_seconds: int = Field(default=0, ge=0, le=7 * 86_400, strict=True)
    actions: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=20,
        description='Each one of: {"kind": "webhook", "url", "secret" (≥ 16 characters, the HMAC-SHA256 key)}, '
        '{"kind": "discord", "webhook_url"}, {"kind": "pubsub", "channel"}, {"kind": "websocket"} (/ws/alerts).',
    )


class RuleOut(Schema):
    id: int
    name: str
    description: str
    enabled: bool
    source: str
    match: str
    conditions: list[dict[str, Any]]
    session: str
    cooldown_seconds: int
    cooldown_key: str
    dedup_seconds: int
    actions: list[dict[str, Any]] = Field(description="secrets and webhook URLs shown as ***")
    version: int


class TestFireOut(Schema):
    event_id: int
    deliveries: int


def _render(rule: AlertRule) -> dict[str, Any]:
    actions = [{key: "***" if key in _SECRETS else value for key, value in action.items()} for action in rule.actions]
    return {
        "id": rule.pk,
        "name": rule.name,
        "description": rule.description,
        "enabled": rule.enabled,
        "source": rule.source,
        "match": rule.match,
        "conditions": rule.conditions,
        "session": rule.session,
        "cooldown_seconds": rule.cooldown_seconds,
        "cooldown_key": rule.cooldown_key,
        "dedup_seconds": rule.dedup_seconds,
        "actions": actions,
        "version": rule.version,
    }


def _staff(request: HttpRequest) -> None:
    if not request_caller(request).is_staff:
        raise PermissionDenied("alert rules are for staff only")


def _rule(rule_id: int) -> AlertRule:
    rule = AlertRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFoundError(f"no alert rule {rule_id}")
    return rule


def _data(request: HttpRequest, body: RuleIn) -> dict[str, Any]:
    json_object_check(request)
    data = body.model_dump(mode="json", exclude={"conditions"})
    data["conditions"] = [condition.model_dump(mode="json") for condition in body.conditions]
    storable_check(data)
    return data


def _control(request: HttpRequest, *, action: str, params: dict[str, Any], perform: Any) -> Any:
    caller = request_caller(request)
    return control_perform(user=caller.user, token=caller.token, action=action, params=params, perform=perform)


@router.get("/alerts/rules", response={200: list[RuleOut], **STAFF_ONLY}, summary="Every alert rule")
def rules_list(request: HttpRequest) -> list[dict[str, Any]]:
    _staff(request)
    return [_render(rule) for rule in AlertRule.objects.order_by("name")]


@router.get("/alerts/rules/{rule_id}", response={200: RuleOut, **STAFF_ONLY}, summary="One alert rule")
def rule_get(request: HttpRequest, rule_id: RuleId) -> dict[str, Any]:
    _staff(request)
    return _render(_rule(rule_id))


@router.post("/alerts/rules", response={201: RuleOut, **STAFF_ONLY}, summary="Create an alert rule")
def rule_create(request: HttpRequest, body: RuleIn) -> tuple[int, dict[str, Any]]:
    data = _data(request, body)
    result = _control(
        request, action="alerts.rule_create", params={"name": body.name}, perform=lambda: _render(rule_save(data=data))
    )
    return 201, result


@router.put("/alerts/rules/{rule_id}", response={200: RuleOut, **STAFF_ONLY}, summary="Replace an alert rule")
def rule_replace(request: HttpRequest, rule_id: RuleId, body: RuleIn) -> Any:
    data = _data(request, body)
    return _control(
        request,
        action="alerts.rule_update",
        params={"rule_id": rule_id},
        perform=lambda: _render(rule_save(data=data, rule=_rule(rule_id))),
    )


@router.delete("/alerts/rules/{rule_id}", response={204: None, **STAFF_ONLY}, summary="Delete an alert rule")
def rule_remove(request: HttpRequest, rule_id: RuleId) -> tuple[int, None]:
    def perform() -> dict[str, Any]:
        rule_delete(rule=_rule(rule_id))
        return {"deleted": rule_id}

    _control(request, action="alerts.rule_delete", params={"rule_id": rule_id}, perform=perform)
    return 204, None


@router.post("/alerts/rules/{rule_id}/enable", response={200: RuleOut, **STAFF_ONLY}, summary="Switch a rule on")
def rule_on(request: HttpRequest, rule_id: RuleId) -> Any:
    return _control(
        request,
        action="alerts.rule_enable",
        params={"rule_id": rule_id},
        perform=lambda: _render(rule_enable(rule=_rule(rule_id), enabled=True)),
    )


@router.post("/alerts/rules/{rule_id}/disable", response={200: RuleOut, **STAFF_ONLY}, summary="Switch a rule off")
def rule_off(request: HttpRequest, rule_id: RuleId) -> Any:
    return _control(
        request,
        action="alerts.rule_disable",
        params={"rule_id": rule_id},
        perform=lambda: _render(rule_enable(rule=_rule(rule_id), enabled=False)),
    )


@router.post(
    "/alerts/rules/{rule_id}/test-fire",
    response={200: TestFireOut, **STAFF_ONLY},
    summary="Send a test alert of the rule through all its actions",
)
def rule_test_fire(request: HttpRequest, rule_id: RuleId) -> Any:
    def perform() -> dict[str, Any]:
        event = alert_test_fire(rule=_rule(rule_id))
        return {"event_id": event.pk, "deliveries": event.deliveries.count()}

    return _control(request, action="alerts.test_fire", params={"rule_id": rule_id}, perform=perform)
