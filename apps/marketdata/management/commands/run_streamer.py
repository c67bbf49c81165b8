from __future__ import annotations

import asyncio
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from streamers.base import RunnerConfig, StreamerRunner
from streamers.registry import STREAMERS


class Command(BaseCommand):
    help = "Run one streamer process: connect its feed and write normalized events to Redis until SIGTERM."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help=f"one of: {', '.join(STREAMERS)}")
        parser.add_argument(
            "--symbols", help="comma-separated symbols instead of the runtime setting marketdata.symbols"
        )
        parser.add_argument(
            "--metrics-port", type=int, default=None, help="Prometheus port (default per streamer; 0 = off)"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=RunnerConfig.batch_size,
            help="buffered events that start a Redis write (slower feeds write every 50 ms instead)",
        )
        parser.add_argument("--record", type=Path, help="also append every written event to this JSON-lines file")
        simulator = parser.add_argument_group("simulator")
        simulator.add_argument("--rate", type=float, default=20.0, help="mean trades per second per symbol")
        simulator.add_argument("--seed", type=int, default=7)
        simulator.add_argument("--url", help="read from a simulator server (ws://...) instead of in-process")
        simulator.add_argument(
            "--always-open",
            action="store_true",
            help="trade around the clock instead of following Globex hours (quiet overnight, closed weekends)",
        )
        replay = parser.add_argument_group("replay")
        replay.add_argument(
            "--date",
            help="replay this UTC day of the lake (YYYY-MM-DD); --symbols picks some (ES: that day's lead contract)",
        )
        replay.add_argument("--file", help="or replay this JSON-lines file (run_streamer simulator --record)")
        replay.add_argument(
            "--speed", type=float, default=1.0, help="1 = real time, 10 = ten times faster, 0 = as fast as possible"
        )
        replay.add_argument(
            "--keep-time", action="store_true", help="keep recorded times instead of shifting them to now"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        entry = STREAMERS.get(options["name"])
        if entry is None:
            raise CommandError(f"unknown streamer {options['name']!r}; available: {', '.join(STREAMERS)}")
        if options["rate"] <= 0:
            raise CommandError("--rate must be greater than 0")
        try:
            client = entry.build(options)
        except ValueError as error:
            raise CommandError(str(error)) from None
        port = entry.metrics_port if options["metrics_port"] is None else options["metrics_port"]
        symbols = (
            tuple(part.strip() for part in options["symbols"].split(",") if part.strip())
            if options["symbols"]
            else None
        )
        config = RunnerConfig(
            name=entry.name,
            batch_size=options["batch_size"],
            metrics_port=port or None,
            metrics_host=settings.ENV.METRICS_HOST,
            fixed_symbols=symbols,
            record_path=options["record"],
        )
        asyncio.run(StreamerRunner(client, config, redis_url=settings.REDIS_URL).run())
