from __future__ import annotations

from django.apps import AppConfig


class TradingConfig(AppConfig):
    """Orders from the Discord bot at tastytrade: allowlists, limits, the kill switch, the audit."""

    name = "apps.trading"
    label = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from apps.trading import runtime_settings  # noqa: F401 - registers
