from __future__ import annotations

from django.apps import AppConfig


class StreamersConfig(AppConfig):
    name = "streamers"
    verbose_name = "Streamers"

    def ready(self) -> None:
        from apps.marketdata.streamer_names import streamer_name_register
        from streamers.registry import VENUES

        for name, venue in VENUES.items():
            streamer_name_register(name=name, configured=venue.configured)
