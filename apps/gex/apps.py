from __future__ import annotations

from django.apps import AppConfig


class GexConfig(AppConfig):
    name = "apps.gex"
    label = "gex"
    verbose_name = "GEX"

    def ready(self) -> None:
        from apps.gex import batch_kind, runtime_settings, schedules  # noqa: F401 - registers
        from apps.gex.lake_tables import GEX_SNAPSHOTS
        from apps.storage.registry import lake_table_register

        lake_table_register(GEX_SNAPSHOTS)
