"""`manage.py run_alerts`: the alert engine process (one per deployment; a second waits on the
streams' locks and takes over when the first dies)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import start_http_server

from apps.alerts.engine import BATCH, engine_run
from apps.core import keys
from apps.core.redis import get_redis


class Command(BaseCommand):
    help = "Run the alert engine: evaluate the alert rules on every source's hot streams and deliver the alerts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--replay",
            default=None,
            help="evaluate a replay's sandbox (run_streamer replay --replay-id ID) instead of the live streams; "
            "its alerts are recorded and sent nowhere",
        )
        parser.add_argument("--batch", type=int, default=BATCH, help=f"entries per stream and step (default {BATCH})")
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=0,
            help="serve the engine's /metrics (alert matches and deliveries) on this port; 0 (default): off",
        )
        parser.add_argument("--metrics-host", default=None, help="the address /metrics listens on (METRICS_HOST)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        try:
            keyspace = keys.KeySpace.replay(options["replay"]) if options["replay"] else keys.LIVE
        except keys.ReplayIdError as error:
            raise CommandError(str(error)) from None
        port = options["metrics_port"]
        if port:
            host = options["metrics_host"] or settings.ENV.METRICS_HOST
            try:
                start_http_server(port, addr=host)
            except OSError as error:
                raise CommandError(f"--metrics-port: cannot serve on {host}:{port}: {error}") from None
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        engine = engine_run(client=get_redis(), stop=stop, batch=options["batch"], keyspace=keyspace)
        self.stdout.write(f"alert engine stopped: {engine.processed} entries read, {engine.fired} alerts fired")
