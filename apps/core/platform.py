"""The embedded platform: prepare a machine (database, schedules, admin, Redis) and the table
of processes the run command supervises."""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from apps.core.embedded_redis import EmbeddedRedis, EmbeddedRedisError, ensure_redis, redis_answers
from apps.core.queues import Queue
from apps.core.services import admin_user_ensure, periodic_tasks_seed
from pipeline_project.env import BASE_DIR, PipelineEnv, read_env_file

VAR_DIR = BASE_DIR / "var"
CREDENTIALS_FILE = VAR_DIR / "credentials.env"


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: list[str]

    @property
    def shell(self) -> str:
        return shlex.join(self.command)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    flower_basic_auth: str
    generated: bool


def platform_processes(
    *, env: PipelineEnv, web_port: int, flower_port: int, python: str = sys.executable
) -> list[ProcessSpec]:
    celery = [python, "-m", "celery", "-A", "pipeline_project"]
    # The broker feeds join when switched on (their secrets are then required at start-up).
    brokers = [ProcessSpec("schwab", [python, "manage.py", "run_streamer", "schwab"])] if env.SCHWAB_ENABLED else []
    if env.TASTYTRADE_ENABLED:
        brokers.append(ProcessSpec("tastytrade", [python, "manage.py", "run_streamer", "tastytrade"]))
    return (
        [
            ProcessSpec(
                "web",
                [
                    python,
                    "-m",
                    "uvicorn",
                    "pipeline_project.asgi:application",
                    "--host",
                    env.WEB_HOST,
                    "--port",
                    str(web_port),
                    "--lifespan",
                    "off",
                    # Refuses an over-long URL with 414 (a WebSocket handshake would hang without it).
                    "--http",
                    "pipeline_project.uvicorn_protocol:BoundedHttpToolsProtocol",
                    # The API logs each request itself; uvicorn's access log would only repeat it
                    # (it is redacted like every log line, apps/core/redaction.py).
                    "--no-access-log",
                ],
            ),
            ProcessSpec(
                "worker",
                [
                    *celery,
                    "worker",
                    "-Q",
                    ",".join(Queue.all_names()),
                    "--concurrency",
                    str(env.CELERY_WORKER_CONCURRENCY),
                    "--loglevel",
                    env.LOG_LEVEL,
                    "--hostname",
                    "worker@%h",
                ],
            ),
            ProcessSpec("beat", [*celery, "beat", "--loglevel", env.LOG_LEVEL]),
            ProcessSpec("flower", [*celery, "flower", f"--port={flower_port}", f"--address={env.WEB_HOST}"]),
            # The demo feed, so a new user sees live data at once, whatever the hour; metrics on :9101.
            ProcessSpec("simulator", [python, "manage.py", "run_streamer", "simulator", "--always-open"]),
            # The alert engine: a long-lived consumer of the hot streams (its state, cooldowns and
            # the previous price of each series, lives between batches; a Celery task would not keep it).
            ProcessSpec("alerts", [python, "manage.py", "run_alerts"]),
            *brokers,
        ]
        + (
            # A real feed, switched on by its credentials in .env (UW_ENABLED and UW_API_TOKEN).
            [ProcessSpec("uw", [python, "manage.py", "run_streamer", "uw"])] if env.UW_ENABLED else []
        )
        + (
            # The Discord bot (DISCORD_ENABLED and DISCORD_BOT_TOKEN); metrics on :9106.
            [ProcessSpec("bot", [python, "manage.py", "run_bot"])] if env.DISCORD_ENABLED else []
        )
    )


def credentials_ensure(*, env: PipelineEnv, path: Path = CREDENTIALS_FILE) -> Credentials:
    """The admin user's credentials: from the environment, else generated once into `path`
    (mode 0600, git-ignored) and reused on every later run."""
    username = env.DJANGO_SUPERUSER_USERNAME
    password = env.DJANGO_SUPERUSER_PASSWORD.get_secret_value()
    generated = False
    if not password:
        stored = read_env_file(path) if path.is_file() else {}
        password = stored.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not password:
            password, generated = secrets.token_urlsafe(12), True
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"DJANGO_SUPERUSER_USERNAME={username}\nDJANGO_SUPERUSER_PASSWORD={password}\n")
            path.chmod(0o600)
    flower = env.FLOWER_BASIC_AUTH.get_secret_value() or f"{username}:{password}"
    return Credentials(username, password, flower, generated)


def platform_prepare(*, env: PipelineEnv, credentials: Credentials) -> None:
    """Migrate, seed the default schedules and create the admin user when missing."""
    call_command("migrate", interactive=False, verbosity=0)
    periodic_tasks_seed()
    admin_user_ensure(username=credentials.username, email=env.DJANGO_SUPERUSER_EMAIL, password=credentials.password)


def redis_ensure(*, env: PipelineEnv) -> tuple[str, EmbeddedRedis | None]:
    """The configured Redis if it answers, else (EMBEDDED_REDIS=auto) an embedded one on its port."""
    url = settings.REDIS_URL
    if env.EMBEDDED_REDIS == "never":
        if not redis_answers(url):
            raise EmbeddedRedisError(f"REDIS_URL {url} does not answer and EMBEDDED_REDIS=never")
        return url, None
    return ensure_redis(url, data_dir=VAR_DIR / "redis")


def child_environment(*, redis_url: str, credentials: Credentials) -> dict[str, str]:
    environ = dict(os.environ)
    environ.update(
        {
            "REDIS_URL": redis_url,
            "FLOWER_BASIC_AUTH": credentials.flower_basic_auth,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local"),
        }
    )
    return environ


def platform_banner(
    *, env: PipelineEnv, web_port: int, flower_port: int, redis_url: str, embedded: bool, credentials: Credentials
) -> str:
    """What the run command prints once the processes are starting: where everything is."""
    host = env.WEB_HOST
    if credentials.generated:
        login = f"{credentials.username} / {credentials.password}  (generated once, kept in {CREDENTIALS_FILE})"
    else:
        login = f"{credentials.username} (password from DJANGO_SUPERUSER_PASSWORD or {CREDENTIALS_FILE})"
    return "\n".join(
        [
            "",
            "data-pipeline is starting:",
            f"  dashboard  http://{host}:{web_port}/",
            f"  admin      http://{host}:{web_port}/admin/",
            f"  api        http://{host}:{web_port}/api/docs  (WebSockets under ws://{host}:{web_port}/ws/)",
            f"  health     http://{host}:{web_port}/health/ready",
            f"  metrics    http://{host}:{web_port}/metrics",
            f"  flower     http://{host}:{flower_port}/  (basic auth: FLOWER_BASIC_AUTH, else the admin login)",
            f"  redis      {redis_url}{' (embedded)' if embedded else ''}",
            "  simulator  ES and NQ into Redis (md:trades:{SYM}); its metrics on http://127.0.0.1:9101/metrics",
            *(
                ["  schwab     Schwab streamer (SCHWAB_ENABLED); metrics on http://127.0.0.1:9103/metrics"]
                if env.SCHWAB_ENABLED
                else []
            ),
            f"  login      {login}",
            "Press Ctrl-C to stop every process.",
            "",
        ]
    )
