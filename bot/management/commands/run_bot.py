"""`python manage.py run_bot`: the Discord bot (needs DISCORD_ENABLED=true and DISCORD_BOT_TOKEN)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from apps.trading.selectors import allowlisted_guilds

METRICS_PORT = 9106


class Command(BaseCommand):
    help = "Run the Discord bot (cogs: trading); metrics on --metrics-port."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--metrics-port", type=int, default=METRICS_PORT, help="0 turns /metrics off")
        parser.add_argument("--metrics-host", default="0.0.0.0")  # noqa: S104 - Prometheus scrapes it in compose

    def handle(self, *args: Any, **options: Any) -> None:
        env = settings.ENV
        if not env.DISCORD_ENABLED:
            raise CommandError(
                "DISCORD_ENABLED is false: set DISCORD_ENABLED=true and DISCORD_BOT_TOKEN to run the bot"
            )
        token = env.DISCORD_BOT_TOKEN.get_secret_value()
        if not token:
            raise CommandError("DISCORD_BOT_TOKEN is empty: the bot needs its token (Discord developer portal > Bot)")
        from bot.client import PipelineBot

        if options["metrics_port"]:
            start_http_server(options["metrics_port"], addr=options["metrics_host"])
        bot = PipelineBot(guild_ids=[int(guild) for guild in allowlisted_guilds()])
        bot.run(token, log_handler=None)
