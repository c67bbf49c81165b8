"""Writes of the alerts app: rules (compiled before anything is saved, so a rule that cannot
compile is never half-saved), and the alerts a batch of matches records with their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.db import transaction
from django.db.models import F

from apps.alerts.durations import duration_parse
from apps.alerts.models import AlertDelivery, AlertEvent, AlertMute, AlertRule
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


def rule_named(name: str) -> AlertRule:
    """The rule called `name` (exactly, else the one rule whose name differs only in case);
    BadInputError naming `rule` when there is none."""
    name = name.strip()
    rule = AlertRule.objects.filter(name=name).first()
    if rule is None:
        candidates = list(AlertRule.objects.filter(name__iexact=name)[:2])
        rule = candidates[0] if len(candidates) == 1 else None
    if rule is None:
        raise BadInputError("rule", f"there is no alert rule named {name[:100]!r} (!alerts lists them)")
    return rule


def _mutes_end(*, rule: AlertRule, at: datetime, by: str) -> int:
    return AlertMute.objects.filter(rule=rule, until__gt=at).update(until=at, unmuted_by=by[:100])


@transaction.atomic
def rule_mute(*, rule_name: str, duration: str, by: str) -> AlertMute:
    """Mute the rule called `rule_name` for `duration` (`30m`, `2h`, `1h30m`, `1d`) from now: its
    matches are recorded but delivered nowhere until then. A mute in force is replaced.
    BadInputError naming `rule` or `duration`."""
    length = duration_parse(duration)
    rule = rule_named(rule_name)
    now = utc_now()
    AlertRule.objects.select_for_update().filter(pk=rule.pk).first()  # one mute change per rule at a time
    _mutes_end(rule=rule, at=now, by=by)
    mute = AlertMute.objects.create(rule=rule, until=now + length, muted_by=by[:100], created_at=now)
    log.info("alerts.rule_muted", rule_id=rule.pk, until=mute.until.isoformat(), by=by)
    return mute


@transaction.atomic
def rule_mute_until(*, rule: AlertRule, until: datetime, by: str) -> AlertMute:
    """Mute `rule` until the moment `until` (the admin's form); BadInputError naming `until`."""
    now = utc_now()
    if until <= now:
        raise BadInputError("until", f"{until.isoformat()} has passed: a mute needs an end in the future")
    AlertRule.objects.select_for_update().filter(pk=rule.pk).first()
    _mutes_end(rule=rule, at=now, by=by)
    return AlertMute.objects.create(rule=rule, until=until, muted_by=by[:100], created_at=now)


@transaction.atomic
def rule_unmute(*, rule_name: str, by: str) -> AlertRule:
    """End the mute of the rule called `rule_name` now; BadInputError naming `rule` when there is
    no such rule or it is not muted."""
    rule = rule_named(rule_name)
    if not _mutes_end(rule=rule, at=utc_now(), by=by):
        raise BadInputError("rule", f"the alert rule {rule.name!r} is not muted")
    log.info("alerts.rule_unmuted", rule_id=rule.pk, by=by)
    return rule


def mute_end(*, mute: AlertMute, by: str) -> bool:
    """End one mute now (the admin's action); False when it had already ended."""
    now = utc_now()
    return bool(AlertMute.objects.filter(pk=mute.pk, until__gt=now).update(until=now, unmuted_by=by[:100]))


def muted_rule_ids(*, rule_ids: set[int], at: datetime) -> set[int]:
    return set(AlertMute.objects.filter(rule_id__in=rule_ids, until__gt=at).values_list("rule_id", flat=True))


@transaction.atomic
def alerts_record(*, fires: Sequence[Fire], deliver: bool = True) -> int:
    """Record each match as an AlertEvent with one delivery per action of its rule (none when
    `deliver` is False: a replay's alerts are recorded and sent nowhere), in one transaction. A
    match already recorded (the same rule and input position: a batch evaluated again after a
    crash) is not recorded twice. Returns how many alerts were new.

    The match of a rule muted now (wall clock, when it is recorded) is recorded with `muted` set
    and no deliveries: it is never sent, not even once the mute ends. Recording it keeps the
    rule's cooldown and dedup state (rebuilt from recorded alerts on restart) what it would have
    been unmuted, and keeps the rule's history whole."""
    if not fires:
        return 0
    muted = muted_rule_ids(rule_ids={fire.rule.rule_id for fire in fires}, at=utc_now())
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
            muted=fire.rule.rule_id in muted,
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
        AlertDelivery.objects.bulk_create(_deliveries_for([row for row in created if not row.muted], actions_of))
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
