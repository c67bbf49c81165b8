"""`manage.py run_alerts`: the alert engine process (one per deployment; a second waits on the
streams' locks and takes over when the first dies)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.alerts.engine import BATCH, engine_run
from apps.core.redis import get_redis


class Command(BaseCommand):
    help = "Run the alert engine: evaluate the alert rules on every source's hot streams and deliver the alerts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=BATCH, help=f"entries per stream and step (default {BATCH})")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        engine = engine_run(client=get_redis(), stop=stop, batch=options["batch"])
        self.stdout.write(f"alert engine stopped: {engine.processed} entries read, {engine.fired} alerts fired")
