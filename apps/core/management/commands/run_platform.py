from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import Manager

from apps.core.embedded_redis import EmbeddedRedisError
from apps.core.platform import (
    child_environment,
    credentials_ensure,
    platform_banner,
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
        manager = Manager()
        try:
            credentials = credentials_ensure(env=env)
            platform_prepare(env=env, credentials=credentials)
            environ = child_environment(redis_url=redis_url, credentials=credentials)
            for spec in platform_processes(env=env, web_port=web_port, flower_port=flower_port):
                manager.add_process(spec.name, spec.shell, env=environ)
            self.stdout.write(
                platform_banner(
                    env=env,
                    web_port=web_port,
                    flower_port=flower_port,
                    redis_url=redis_url,
                    embedded=embedded is not None,
                    credentials=credentials,
                )
            )
            self.stdout.flush()
            manager.loop()
        finally:
            if embedded is not None:
                embedded.stop()
        if manager.returncode:
            raise SystemExit(manager.returncode)
