from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.services import periodic_tasks_seed


class Command(BaseCommand):
    help = "Create the default periodic tasks that are missing (never overwrites admin edits)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = periodic_tasks_seed()
        self.stdout.write(
            f"periodic tasks: {len(result['created'])} created {result['created']}, "
            f"{len(result['updated'])} updated {result['updated']}"
        )
