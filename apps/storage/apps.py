from __future__ import annotations

from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "apps.storage"
    label = "storage"
    verbose_name = "Lake"

    def ready(self) -> None:
        from apps.storage import schedules  # noqa: F401 - registers
        from apps.storage.market_tables import MARKET_TABLES
        from apps.storage.registry import lake_table_register

        for table in MARKET_TABLES:
            lake_table_register(table)
