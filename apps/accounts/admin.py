from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from apps.accounts.models import APIToken, ControlAction
from apps.accounts.services import token_create, token_revoke


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    """Tokens are created here (the secret is shown once, in a message) and revoked, never edited."""

    list_display = ["name", "user", "prefix", "created", "last_used", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: APIToken | None = None) -> Any:
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "prefix", "created", "last_used", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: APIToken | None = None) -> list[str]:
        return [] if obj is None else ["user", "name", "prefix", "created", "last_used", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: APIToken, form: ModelForm, change: bool) -> None:
        if change:
            return  # nothing about a token changes after its creation except revocation
        token, secret = token_create(user=obj.user, name=obj.name)
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.success(
            request,
            f"Token {token.prefix}… created. Copy its secret now, it is not stored and is never shown again: {secret}",
        )

    def has_delete_permission(self, request: HttpRequest, obj: APIToken | None = None) -> bool:
        return False  # revoke instead: control audit rows point at tokens

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[APIToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            token_revoke(token=token)
        self.message_user(request, f"{len(tokens)} token(s) revoked.")


@admin.register(ControlAction)
class ControlActionAdmin(admin.ModelAdmin):
    """The audit of control endpoint calls: read only."""

    list_display = ["created", "action", "user", "token", "outcome"]
    list_filter = ["action", "outcome"]
    readonly_fields = [field.name for field in ControlAction._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
