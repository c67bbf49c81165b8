from __future__ import annotations

from django.apps import AppConfig


class BatchConfig(AppConfig):
    name = "apps.batch"
    label = "batch"
    verbose_name = "Batch jobs"

    def ready(self) -> None:
        from apps.batch import runtime_settings  # noqa: F401 - registers
        from apps.batch.kinds import depth_import, enrich, export, lake_migrate, scid_import  # noqa: F401 - registers
        from apps.batch.lake_tables import BAR_DATA, ENRICHED_TICKS
        from apps.storage.registry import lake_table_register

        lake_table_register(BAR_DATA)
        lake_table_register(ENRICHED_TICKS)
