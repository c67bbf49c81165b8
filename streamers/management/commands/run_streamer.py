from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import uvloop
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core import keys
from streamers.config import RunnerConfig, StreamerConfigError
from streamers.registry import VENUES
from streamers.replay.sandbox import ReplaySandbox
from streamers.runner import StreamerRunner

LIST = "list"


def _unknown(name: str) -> str:
    return f"unknown streamer {name!r}; available: {', '.join(VENUES)} (or `list`)"


def _add_shared_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--symbols", help="comma-separated symbols instead of the runtime setting marketdata.symbols")
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


class Command(BaseCommand):
    help = "Run one streamer process: connect its feed and write normalized events to Redis until SIGTERM."

    def add_arguments(self, parser: ArgumentParser) -> None:
        venues = parser.add_subparsers(dest="name", metavar="NAME", required=True, help="the feed to run, or list")
        venues.add_parser(LIST, help="list the feeds, what each needs, and whether this deployment runs it")
        for venue in VENUES.values():
            venue_parser = venues.add_parser(venue.name, help=venue.help, description=venue.help)
            venue.add_arguments(venue_parser)
            _add_shared_arguments(venue_parser)

    def run_from_argv(self, argv: list[str]) -> None:
        # argparse would refuse an unknown name in its own words; name the choices as the
        # README does. (call_command gets argparse's refusal, as a CommandError.)
        if len(argv) > 2 and not argv[2].startswith("-") and argv[2] not in VENUES and argv[2] != LIST:
            raise SystemExit(f"CommandError: {_unknown(argv[2])}")
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["name"] == LIST:
            self._list()
            return
        venue = VENUES[options["name"]]
        port = venue.metrics_port if options["metrics_port"] is None else options["metrics_port"]
        symbols = tuple(part.strip() for part in (options["symbols"] or "").split(",") if part.strip())
        try:
            venue_config = venue.config_from_options(options)
            client = venue.client(venue_config)
            sink = venue.sink(venue_config, settings.REDIS_URL) if venue.sink else None
            config = RunnerConfig(
                name=venue.name,
                batch_size=options["batch_size"],
                metrics_port=port or None,
                metrics_host=settings.ENV.METRICS_HOST,
                fixed_symbols=symbols or None,
                symbols_setting=venue.symbols_setting,
                record_path=options["record"],
                subscription_setting=venue.subscription_setting,
            )
        except StreamerConfigError as error:
            raise CommandError(str(error)) from None
        sandbox = getattr(client, "sandbox", None)
        keyspace, expire_seconds = keys.LIVE, None
        if isinstance(sandbox, ReplaySandbox):
            keyspace, expire_seconds = sandbox.keyspace, sandbox.expire_seconds
            kept = (
                "kept until deleted" if expire_seconds is None else f"deleted {expire_seconds / 3600:g} h after its end"
            )
            self.stdout.write(
                f"replay {sandbox.replay_id}: its own sandbox, never the live data ({kept}); watch it at"
                f" /?replay={sandbox.replay_id}; manage.py replay pause|resume|delete {sandbox.replay_id}"
            )
            self.stdout.flush()
        runner = StreamerRunner(
            client, config, redis_url=settings.REDIS_URL, sink=sink, keyspace=keyspace, expire_seconds=expire_seconds
        )
        try:
            # uvloop, as uvicorn runs the web process: a shorter hop from a frame to its write.
            uvloop.run(runner.run())
        except StreamerConfigError as error:  # found on start-up: the metrics port, say
            raise CommandError(str(error)) from None

    def _list(self) -> None:
        """One block per feed: name, what it is, what it needs, and whether this deployment runs it."""
        for venue in VENUES.values():
            runs = "yes" if venue.configured() else "no (start it by hand)"
            self.stdout.write(venue.name)
            self.stdout.write(f"  what:      {venue.help}")
            self.stdout.write(f"  needs:     {venue.needs}")
            self.stdout.write(f"  runs here: {runs}; metrics on port {venue.metrics_port}")
            self.stdout.write(f"  options:   python manage.py run_streamer {venue.name} --help")
