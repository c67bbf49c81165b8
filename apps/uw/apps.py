from __future__ import annotations

from django.apps import AppConfig


class UwConfig(AppConfig):
    name = "apps.uw"
    label = "uw"
    verbose_name = "Unusual Whales"

    def ready(self) -> None:
        from apps.storage.registry import lake_table_register
        from apps.uw import runtime_settings, schedules  # noqa: F401 - registers
        from apps.uw.lake_tables import UW_LAKE_TABLES

        for table in UW_LAKE_TABLES:
            lake_table_register(table)
