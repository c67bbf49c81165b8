from __future__ import annotations

from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "apps.storage"
    label = "storage"
    verbose_name = "Lake"

    def ready(self) -> None:
        from apps.storage import schedules  # noqa: F401 - registers
