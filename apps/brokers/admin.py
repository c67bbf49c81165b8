from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.brokers.models import BrokerToken
from apps.brokers.selectors import token_status_of


@admin.register(BrokerToken)
class BrokerTokenAdmin(admin.ModelAdmin):
    """The state of each broker login: expiries and refreshes, never the secrets. Tokens come
    from the login commands; deleting one here stops its feed until the next login."""

    list_display = [
        "provider",
        "account",
        "state",
        "access_expires_at",
        "refresh_expires_at",
        "refreshes",
        "refreshed_at",
    ]
    list_filter = ["provider"]
    fields = readonly_fields = (
        "provider",
        "account",
        "state",
        "access_expires_at",
        "refresh_issued_at",
        "refresh_expires_at",
        "refreshes",
        "refreshed_at",
        "created_at",
        "updated_at",
    )

    @admin.display(description="state")
    def state(self, obj: BrokerToken) -> str:
        return token_status_of(obj).summary

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
