from __future__ import annotations

from django.apps import AppConfig


class GexConfig(AppConfig):
    name = "apps.gex"
    label = "gex"
    verbose_name = "GEX"
