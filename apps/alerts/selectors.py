"""Reads of the alerts app: the enabled rules compiled, with the state their recorded alerts
imply (cooldowns, dedup windows), and recent alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db.models import Max

from apps.alerts.models import AlertEvent, AlertMute, AlertRule
from apps.alerts.rules import CompiledRule, RuleCompileError, rule_compile
from apps.alerts.services import rule_data
from apps.core.clock import utc_now

log = structlog.get_logger(__name__)


def rules_version() -> tuple[int, int]:
    """Changes when any rule is created, edited, enabled, disabled or deleted."""
    rows = AlertRule.objects.aggregate(top=Max("version"), last=Max("updated_at"))
    count = AlertRule.objects.count()
    stamp = rows["last"].timestamp() if rows["last"] else 0
    return count, hash((rows["top"], stamp))


def rule_compiled(rule: AlertRule, *, restore: bool = True) -> CompiledRule:
    """`rule` compiled; with `restore`, its cooldown and dedup state rebuilt from the alerts it
    recorded, so a restarted engine neither repeats nor misses what the running one would have done."""
    compiled = rule_compile(rule_id=rule.pk, version=rule.version, name=rule.name, data=rule_data(rule))
    window = max(compiled.spec.cooldown_seconds, compiled.spec.dedup_seconds)
    if restore and window:
        latest = AlertEvent.objects.filter(rule=rule, test=False).aggregate(top=Max("event_time"))["top"]
        if latest is not None:
            recent = AlertEvent.objects.filter(
                rule=rule, test=False, event_time__gte=latest - timedelta(seconds=window)
            ).values_list("key", "fingerprint", "input")
            for key, fingerprint, item in recent:
                compiled.remember(key=key, fingerprint=fingerprint, ts_ns=int(item["ts_event"]))
    return compiled


def rules_enabled_compiled() -> list[CompiledRule]:
    """Every enabled rule that compiles (one that no longer does is logged and skipped)."""
    compiled = []
    for rule in AlertRule.objects.filter(enabled=True).order_by("pk"):
        try:
            compiled.append(rule_compiled(rule))
        except RuleCompileError as error:
            log.error("alerts.rule_skipped", rule_id=rule.pk, name=rule.name, error=error.message)
    return compiled


def events_of_rule(*, rule: AlertRule, limit: int = 100) -> list[AlertEvent]:
    return list(AlertEvent.objects.filter(rule=rule).order_by("-event_time", "-id")[:limit])


@dataclass(frozen=True)
class RuleSummary:
    name: str
    enabled: bool
    source: str
    # The mute in force now, if any: until when, and who set it.
    muted_until: datetime | None = None
    muted_by: str = ""


def mute_in_force(*, rule: AlertRule) -> AlertMute | None:
    return AlertMute.objects.filter(rule=rule, until__gt=utc_now()).order_by("-until").first()


def rules_summary() -> list[RuleSummary]:
    """Every rule by name with the mute in force now (the bot's `!alerts`)."""
    mutes: dict[int, AlertMute] = {}
    for mute in AlertMute.objects.filter(until__gt=utc_now()).order_by("until"):
        mutes[mute.rule_id] = mute  # the latest-ending wins
    return [
        RuleSummary(
            name=name,
            enabled=enabled,
            source=source,
            muted_until=mutes[pk].until if pk in mutes else None,
            muted_by=mutes[pk].muted_by if pk in mutes else "",
        )
        for pk, name, enabled, source in AlertRule.objects.order_by("name").values_list(
            "pk", "name", "enabled", "source"
        )
    ]
