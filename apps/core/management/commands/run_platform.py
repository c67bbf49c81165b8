from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import Manager

from apps.core.embedded_redis import EmbeddedRedisError
from apps.core.platform import (
    CREDENTIALS_FILE,
    child_environment,
    credentials_ensure,
    platform_prepare,
    platform_processes,
    redis_ensure,
)


class Command(BaseCommand):
    help = "Run the whole platform (web, worker, beat, flower) under one supervisor; Ctrl-C stops it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--web-port", type=int, default=None, help="default: WEB_PORT")
        parser.add_argument("--flower-port", type=int, default=None, help="default: FLOWER_PORT")

    def handle(self, *args: Any, **options: Any) -> None:
        env = settings.ENV
        web_port = options["web_port"] or env.WEB_PORT
        flower_port = options["flower_port"] or env.FLOWER_PORT
        try:
            redis_url, embedded = redis_ensure(env=env)
        except EmbeddedRedisError as error:
            raise CommandError(str(error)) from None
        try:
            credentials = credentials_ensure(env=env)
            platform_prepare(env=env, credentials=credentials)
            manager = Manager()
            environ = child_environment(redis_url=redis_url, credentials=credentials)
            for spec in platform_processes(env=env, web_port=web_port, flower_port=flower_port):
                manager.add_process(spec.name, spec.shell, env=environ)
            host = env.WEB_HOST
            lines = [
                "",
                "data-pipeline is starting:",
                f"  dashboard  http://{host}:{web_port}/",
                f"  admin      http://{host}:{web_port}/admin/",
                f"  health     http://{host}:{web_port}/health/ready",
                f"  metrics    http://{host}:{web_port}/metrics",
                f"  flower     http://{host}:{flower_port}/",
                f"  redis      {redis_url}{' (embedded)' if embedded else ''}",
            ]
            if credentials.generated:
                lines.append(f"  login      {credentials.username} / {credentials.password}  (generated once, kept in {CREDENTIALS_FILE})")
            else:
                lines.append(f"  login      {credentials.username} (password from DJANGO_SUPERUSER_PASSWORD or {CREDENTIALS_FILE})")
            lines.append("Press Ctrl-C to stop every process.\n")
            self.stdout.write("\n".join(lines))
            self.stdout.flush()
            manager.loop()
        finally:
            if embedded is not None:
                embedded.stop()
        if manager.returncode:
            raise SystemExit(manager.returncode)
