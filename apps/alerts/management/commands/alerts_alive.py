"""`manage.py alerts_alive`: exit 0 while an alert engine runs (its heartbeat is under a minute
old), 1 otherwise; the compose file's health check."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core import keys
from apps.core.redis import get_redis


class Command(BaseCommand):
    help = "Exit 0 while an alert engine runs (its heartbeat is fresh), else 1."

    def handle(self, *args: Any, **options: Any) -> None:
        if not get_redis().exists(keys.ALERTS_ENGINE_HEARTBEAT):
            raise CommandError("no alert engine has run in the last minute")
        self.stdout.write("alert engine alive")
