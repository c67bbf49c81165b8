from __future__ import annotations

from django.apps import AppConfig


class BrokersConfig(AppConfig):
    """Broker OAuth tokens, encrypted at rest, refreshed under a lock shared by every process."""

    name = "apps.brokers"
    label = "brokers"
    verbose_name = "Broker tokens"

    def ready(self) -> None:
        from apps.brokers import runtime_settings  # noqa: F401 - registers
        from apps.brokers.health import register_token_checks

        register_token_checks()
