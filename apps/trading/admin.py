"""Admin: the trade audit (read-only: no add, change or delete), the bot's allowlists, the kill
switch (a flip here is audited like one from Discord or the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.trading.models import BotAllowlistEntry, KillSwitch, TradeAudit, TradeTicket
from apps.trading.selectors import Requester
from apps.trading.services.kill_switch import kill_switch_set


@admin.register(TradeAudit)
class TradeAuditAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "rule", "user", "guild", "channel", "order_id", "environment", "message")
    list_filter = ("kind", "rule", "environment", "source")
    search_fields = ("user", "order_id", "message", "ticket")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TradeTicket)
class TradeTicketAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "user",
        "side",
        "quantity",
        "order_symbol",
        "price",
        "state",
        "order_id",
        "last_status",
    )
    list_filter = ("state", "environment")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BotAllowlistEntry)
class BotAllowlistEntryAdmin(admin.ModelAdmin):
    list_display = ("cog", "kind", "discord_id", "note")
    list_filter = ("cog", "kind")


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin):
    list_display = ("__str__", "changed_at", "changed_by", "reason")
    fields = ("on", "reason", "changed_at", "changed_by")
    readonly_fields = ("changed_at", "changed_by")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KillSwitch, form: Any, change: bool) -> None:
        # Through the service: the flip is stamped and audited, whoever makes it.
        kill_switch_set(on=obj.on, requester=Requester(user=str(request.user), source="admin"), reason=obj.reason)
