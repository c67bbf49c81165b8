from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """API tokens, and the audit of staff control actions: shared by every door that signs
    callers in (REST, WebSocket, later the bot)."""

    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"
