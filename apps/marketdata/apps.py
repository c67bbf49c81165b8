from __future__ import annotations

from django.apps import AppConfig


class MarketdataConfig(AppConfig):
    name = "apps.marketdata"
    label = "marketdata"
    verbose_name = "Market data"

    def ready(self) -> None:
        from apps.marketdata import runtime_settings  # noqa: F401 - registers
