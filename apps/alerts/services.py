"""Writes of the alerts app: rules (compiled before anything is saved, so a rule that cannot
compile is never half-saved), and the alerts a batch of matches records with their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog
from django.db import transaction
from django.db.models import F

from apps.alerts.models import AlertDelivery, AlertEvent, AlertRule
from apps.alerts.rules import Fire, rule_spec_parse
from apps.core.clock import utc_now
from apps.core.exceptions import BadInputError
from apps.core.services import runtime_config_announce
from apps.monitoring.metrics import ALERT_MATCHES

log = structlog.get_logger(__name__)

SPEC_FIELDS = (
    "source",
    "match",
    "conditions",
    "session",
    "cooldown_seconds",
    "cooldown_key",
    "dedup_seconds",
    "actions",
)


def rule_data(rule: AlertRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in SPEC_FIELDS}


def rule_check(data: dict[str, Any]) -> None:
    """RuleCompileError (a BadInputError naming the field) when `data` cannot compile."""
    rule_spec_parse({name: data[name] for name in SPEC_FIELDS if name in data})


@transaction.atomic
def rule_save(*, data: dict[str, Any], rule: AlertRule | None = None) -> AlertRule:
    """Create (`rule` None) or update a rule from `data` (its name, description, enabled and spec
    fields); compiled first, then saved, and every engine recompiles it."""
    rule = rule or AlertRule()
    merged = {**rule_data(rule), **{name: data[name] for name in SPEC_FIELDS if name in data}}
    rule_check(merged)
    name = str(data.get("name", rule.name)).strip()
    if not name:
        raise BadInputError("name", "a rule needs a name", where="body")
    if AlertRule.objects.filter(name=name).exclude(pk=rule.pk).exists():
        raise BadInputError("name", f"a rule named {name!r} exists", where="body")
    rule.name = name
    rule.description = str(data.get("description", rule.description))
    rule.enabled = bool(data.get("enabled", rule.enabled))
    for field in SPEC_FIELDS:
        setattr(rule, field, merged[field])
    rule.version = (rule.version or 0) + 1 if rule.pk else 1
    rule.save()
    transaction.on_commit(runtime_config_announce)
    log.info("alerts.rule_saved", rule_id=rule.pk, name=rule.name, version=rule.version)
    return rule


@transaction.atomic
def rule_enable(*, rule: AlertRule, enabled: bool) -> AlertRule:
    AlertRule.objects.filter(pk=rule.pk).update(enabled=enabled, version=F("version") + 1)
    rule.refresh_from_db()
    transaction.on_commit(runtime_config_announce)
    return rule


@transaction.atomic
def rule_delete(*, rule: AlertRule) -> None:
    rule.delete()
    transaction.on_commit(runtime_config_announce)


def _deliveries_for(events: Sequence[AlertEvent], actions_of: dict[int, list[dict[str, Any]]]) -> list[AlertDelivery]:
    now = utc_now()
    return [
        AlertDelivery(event=event, action_index=index, kind=str(action.get("kind", "")), next_attempt_at=now)
        for event in events
        for index, action in enumerate(actions_of.get(event.rule_id, []))
    ]


@transaction.atomic
def alerts_record(*, fires: Sequence[Fire], deliver: bool = True) -> int:
    """Record each match as an AlertEvent with one delivery per action of its rule (none when
    `deliver` is False: a replay's alerts are recorded and sent nowhere), in one transaction. A
    match already recorded (the same rule and input position: a batch evaluated again after a
    crash) is not recorded twice. Returns how many alerts were new."""
    if not fires:
        return 0
    rows = [
        AlertEvent(
            rule_id=fire.rule.rule_id,
            rule_version=fire.rule.version,
            source=fire.rule.source.value,
            stream=fire.item.stream,
            position=fire.item.position,
            key=fire.key[:120],
            fingerprint=fire.item.uid[:200],
            event_time=fire.item.event_time,
            input=fire.item.record(),
        )
        for fire in fires
    ]
    existing = set(
        AlertEvent.objects.filter(
            stream__in={row.stream for row in rows}, position__in={row.position for row in rows}
        ).values_list("rule_id", "stream", "position")
    )
    new = [row for row in rows if (row.rule_id, row.stream, row.position) not in existing]
    created = AlertEvent.objects.bulk_create(new, ignore_conflicts=False)
    actions_of = {
        rule_id: actions
        for rule_id, actions in AlertRule.objects.filter(pk__in={row.rule_id for row in new}).values_list(
            "pk", "actions"
        )
    }
    if deliver:
        AlertDelivery.objects.bulk_create(_deliveries_for(created, actions_of))
    if created:
        # Counted once the alerts are durable: a batch rolled back and evaluated again counts once.
        count = len(created)
        transaction.on_commit(lambda: ALERT_MATCHES.inc(count))
    return len(created)


@transaction.atomic
def alert_test_fire(*, rule: AlertRule) -> AlertEvent:
    """A test alert of `rule` through all its actions (marked `test`), with an input saying so."""
    rule_check(rule_data(rule))
    now = utc_now()
    event = AlertEvent.objects.create(
        rule=rule,
        rule_version=rule.version,
        source=rule.source,
        stream="test",
        position=f"test:{uuid.uuid4().hex}",
        key="test",
        fingerprint="test",
        event_time=now,
        input={"symbol": "TEST", "test": True, "note": "a test-fire from the admin or the API"},
        test=True,
    )
    AlertDelivery.objects.bulk_create(_deliveries_for([event], {rule.pk: rule.actions}))
    log.info("alerts.test_fired", rule_id=rule.pk, event_id=event.pk)
    return event


def deliveries_reclaim(*, claimer_alive: Any, before: timedelta = timedelta(0)) -> int:
    """Give back deliveries claimed by a process that died (`claimer_alive(claimed_by)` False)."""
    dead = [
        delivery_id
        for delivery_id, claimed_by in AlertDelivery.objects.filter(state=AlertDelivery.State.SENDING).values_list(
            "pk", "claimed_by"
        )
        if not claimer_alive(claimed_by)
    ]
    return AlertDelivery.objects.filter(pk__in=dead, state=AlertDelivery.State.SENDING).update(
        state=AlertDelivery.State.RETRY, claimed_by="", claimed_until=None, next_attempt_at=utc_now() - before
    )
