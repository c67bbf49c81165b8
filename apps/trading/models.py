"""Trading rows: the audit of every attempt and decision, the tickets awaiting confirmation, the
bot's allowlists and the kill switch."""

from __future__ import annotations

from django.db import models


class TradeAudit(models.Model):
    """One attempt or decision. Written, never edited or deleted (retention leaves it alone)."""

    class Kind(models.TextChoices):
        ATTEMPT = "attempt"
        REFUSED = "refused"
        DRY_RUN = "dry_run"
        AWAITING = "awaiting_confirmation"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"
        PLACED = "placed"
        STATUS = "status"
        ERROR = "error"
        KILL_SWITCH = "kill_switch"
        ORDER_CANCEL = "order_cancel"

    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    # The rule that refused (refused), or the error's class (error); empty otherwise.
    rule = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    # Who and where: the Discord user, guild and channel (or the web user for the control API).
    user = models.CharField(max_length=100, blank=True)
    guild = models.CharField(max_length=32, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    source = models.CharField(max_length=32, blank=True)  # discord, api, admin
    ticket = models.UUIDField(null=True, blank=True, db_index=True)
    # The full order as entered and as sent, the broker's answer, the order id.
    order = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    order_id = models.CharField(max_length=32, blank=True)
    environment = models.CharField(max_length=16, blank=True)  # sandbox or live

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.rule}".strip()


class TradeTicket(models.Model):
    """An order between its dry run and its placement: confirmed only by its requester, within
    the confirmation window; its external identifier makes the placement happen once."""

    class State(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        SUBMITTING = "submitting"
        PLACED = "placed"
        REFUSED = "refused"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    user = models.CharField(max_length=100)
    guild = models.CharField(max_length=32, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    roles = models.JSONField(default=list, blank=True)
    side = models.CharField(max_length=4)
    symbol = models.CharField(max_length=32)
    order_symbol = models.CharField(max_length=32)
    quantity = models.IntegerField()
    price = models.DecimalField(max_digits=18, decimal_places=6, null=True)
    order_type = models.CharField(max_length=32)
    time_in_force = models.CharField(max_length=32)
    external_identifier = models.CharField(max_length=64, unique=True)
    environment = models.CharField(max_length=16)
    account = models.CharField(max_length=32)
    order_id = models.CharField(max_length=32, blank=True)
    last_status = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.order_symbol} @ {self.price} ({self.state})"


class BotAllowlistEntry(models.Model):
    """Who may use a cog: guilds, channels, roles and users (Discord ids), per cog."""

    class Cog(models.TextChoices):
        GEX = "gex"
        STATUS = "status"
        ALERTS = "alerts"
        TRADING = "trading"

    class Kind(models.TextChoices):
        GUILD = "guild"
        CHANNEL = "channel"
        ROLE = "role"
        USER = "user"

    cog = models.CharField(max_length=16, choices=Cog.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    discord_id = models.CharField(max_length=32)
    note = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cog", "kind", "discord_id"], name="trading_allowlist_unique")]
        ordering = ["cog", "kind", "discord_id"]
        verbose_name = "bot allowlist entry"
        verbose_name_plural = "bot allowlist"

    def __str__(self) -> str:
        return f"{self.cog} {self.kind} {self.discord_id}"


class KillSwitch(models.Model):
    """One row (pk 1): while `on`, no order is placed (cancels still go through)."""

    on = models.BooleanField(default=False)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return "kill switch ON" if self.on else "kill switch off"
