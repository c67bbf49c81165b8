"""Alert rules (edited in the admin and the staff API), the alerts they fired, and each alert's
delivery to each of the rule's actions (the outbox the engine and the `alerts` workers drain)."""

from __future__ import annotations

from typing import Any

from django.db import models


class Source(models.TextChoices):
    UW_OPTION_TRADES = "uw_option_trades", "Unusual Whales option trades"
    UW_FLOW_ALERTS = "uw_flow_alerts", "Unusual Whales flow alerts"
    UW_MARKET_TIDE = "uw_market_tide", "Unusual Whales market tide"
    MD_TRADES = "md_trades", "Market-data trades"
    MD_BARS = "md_bars", "Market-data 1-minute bars"
    GEX_SNAPSHOTS = "gex_snapshots", "GEX snapshots"


class Match(models.TextChoices):
    ALL = "all", "all conditions"
    ANY = "any", "any condition"


class SessionFilter(models.TextChoices):
    ANY = "any", "any time"
    REGULAR = "regular", "regular hours only"
    EXTENDED = "extended", "regular and extended hours"


class CooldownKey(models.TextChoices):
    SYMBOL = "symbol", "per symbol (underlying or contract)"
    CONTRACT = "contract", "per option contract"
    RULE = "rule", "per rule"


class AlertRule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=32, choices=Source.choices)
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.ALL)
    conditions: models.JSONField[Any, Any] = models.JSONField(
        default=list,
        blank=True,
        help_text='A list of conditions, e.g. [{"kind": "premium_at_least", "min": "1000000"}]',
    )
    session = models.CharField(max_length=16, choices=SessionFilter.choices, default=SessionFilter.ANY)
    cooldown_seconds = models.PositiveIntegerField(default=0, help_text="quiet time per rule and key after a fire")
    cooldown_key = models.CharField(max_length=16, choices=CooldownKey.choices, default=CooldownKey.SYMBOL)
    dedup_seconds = models.PositiveIntegerField(
        default=0, help_text="the same input (same id, or same symbol/price/size/side) fires once in this window"
    )
    actions: models.JSONField[Any, Any] = models.JSONField(
        default=list, blank=True, help_text='e.g. [{"kind": "webhook", "url": "https://…", "secret": "…"}]'
    )
    # Bumped on every save: the engine recompiles a rule whose version moved.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AlertEvent(models.Model):
    """One match of a rule, with the input that matched. Unique per rule and input position, so a
    batch evaluated twice (after a crash before its acknowledgement) records each match once."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    rule_version = models.PositiveIntegerField()
    source = models.CharField(max_length=32, choices=Source.choices)
    stream = models.CharField(max_length=200)
    position = models.CharField(
        max_length=120, help_text="the input's hot-store id (`<entry id>` or `<entry id>:<index>`)"
    )
    key = models.CharField(max_length=120, help_text="the cooldown key")
    fingerprint = models.CharField(max_length=200, help_text="what the dedup window compares")
    event_time = models.DateTimeField(db_index=True)
    input: models.JSONField[Any, Any] = models.JSONField()
    test = models.BooleanField(default=False, help_text="a test-fire from the admin or the API")
    muted = models.BooleanField(
        default=False, help_text="matched while its rule was muted: recorded, delivered nowhere (not later either)"
    )
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-event_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "stream", "position"], name="alerts_event_once_per_input"),
        ]
        indexes = [models.Index(fields=["rule", "-event_time"], name="alerts_event_rule_time")]

    def __str__(self) -> str:
        return f"{self.rule_id}@{self.position}"


class AlertMute(models.Model):
    """A rule silenced until `until` (`!alert mute RULE 30m`, the admin). While a mute is in force
    the rule still matches and its alerts are recorded (marked `muted`, so cooldowns and history
    stay what they would have been) but get no deliveries. Unmuting ends it early (`until` moves
    to that moment); a new mute of a muted rule replaces the old one."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="mutes")
    until = models.DateTimeField(db_index=True)
    muted_by = models.CharField(max_length=100, help_text="who muted it (discord:<user id> or admin:<username>)")
    created_at = models.DateTimeField()
    unmuted_by = models.CharField(max_length=100, blank=True, help_text="who ended it early, if anyone")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rule", "-until"], name="alerts_mute_rule_until")]

    def __str__(self) -> str:
        return f"{self.rule_id} muted until {self.until:%Y-%m-%d %H:%M:%S}"


class AlertDelivery(models.Model):
    """One alert to one action of its rule. Created with the alert, in the same transaction."""

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        RETRY = "retry"
        DONE = "done"
        FAILED = "failed"

    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries")
    action_index = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "action_index"], name="alerts_delivery_once_per_action"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}#{self.action_index} {self.kind} {self.state}"
