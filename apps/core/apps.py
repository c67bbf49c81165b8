from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        from apps.core import celery_hooks, runtime_settings, startup_checks  # noqa: F401 - registers

        post_migrate.connect(_sync_runtime_settings, sender=self)


def _sync_runtime_settings(**kwargs: Any) -> None:
    from apps.core.services import runtime_settings_sync

    runtime_settings_sync()
