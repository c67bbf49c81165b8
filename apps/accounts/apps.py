from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """API tokens, and the audit of staff control actions: shared by every door that signs
    callers in (REST, WebSocket, later the bot)."""

    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from apps.accounts.token_cache import connect_signals

        connect_signals()  # a saved or deleted token or user is forgotten by every process
