"""No Docker engine runs here, so the compose file is checked statically: every service's
command starts an entrypoint that exists in this project, and the stack has what production
needs (health checks, AOF, volumes)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
CELERY_SUBCOMMANDS = {"worker", "beat", "flower", "inspect"}


def entrypoints(command: list[str]) -> list[list[str]]:
    """Split `sh -c "a && b"` into its commands; otherwise the command itself."""
    if command[:2] == ["sh", "-c"]:
        return [part.split() for part in command[2].split("&&")]
    return [command]


def check_entrypoint(argv: list[str]) -> None:
    if argv[:2] == ["python", "-m"]:
        argv = argv[2:]
    elif argv[0] == "python":
        argv = argv[1:]
    program = argv[0]
    if program == "manage.py":
        assert argv[1] in get_commands(), f"manage.py has no command {argv[1]!r}"
    elif program == "celery":
        assert argv[1:3] == ["-A", "pipeline_project"]
        assert argv[3] in CELERY_SUBCOMMANDS
        assert importlib.import_module("pipeline_project.celery").app is not None
    elif program == "uvicorn":
        module, attribute = argv[1].split(":")
        assert getattr(importlib.import_module(module), attribute) is not None
        # The bounded protocol answers an over-long URL with 414 (tests/pipeline_project/test_uvicorn_protocol.py).
        assert argv[argv.index("--http") + 1] == "pipeline_project.uvicorn_protocol:BoundedHttpToolsProtocol", argv
    else:
        pytest.fail(f"unknown entrypoint {argv}")


@pytest.mark.parametrize("name", [name for name, service in SERVICES.items() if "build" in service])
def test_every_project_service_starts_an_existing_entrypoint(name: str) -> None:
    for argv in entrypoints(SERVICES[name]["command"]):
        check_entrypoint(argv)


def test_the_stack_has_every_process() -> None:
    assert {"redis", "postgres", "web", "worker", "beat", "flower", "prometheus", "grafana"} <= set(SERVICES)


def test_worker_consumes_every_queue() -> None:
    from apps.core.queues import Queue

    command = SERVICES["worker"]["command"]
    assert command[command.index("-Q") + 1].split(",") == Queue.all_names()


def test_long_running_services_have_health_checks() -> None:
    missing = [name for name, service in SERVICES.items() if name != "migrate" and "healthcheck" not in service]
    assert not missing


def test_redis_keeps_an_append_only_file_and_data_lives_in_volumes() -> None:
    assert "--appendonly" in SERVICES["redis"]["command"]
    assert {"redis", "postgres", "lake"} <= set(COMPOSE["volumes"])
    assert any(volume.startswith("lake:") for volume in SERVICES["worker"]["volumes"])


def test_mounted_config_files_exist() -> None:
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{source} is mounted but not in the repository"


def test_prometheus_scrapes_the_web_metrics_with_the_token() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (web,) = [job for job in config["scrape_configs"] if job["job_name"] == "web"]
    assert web["authorization"]["type"] == "Bearer"
    secret = web["authorization"]["credentials_file"]
    assert secret == "/run/secrets/metrics_token"
    assert "metrics_token" in SERVICES["prometheus"]["secrets"]
    assert COMPOSE["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}


def test_the_bot_service_runs_run_bot_with_its_metrics_checked() -> None:
    bot = SERVICES["bot"]
    assert bot["command"][:3] == ["python", "manage.py", "run_bot"]
    port = bot["command"][bot["command"].index("--metrics-port") + 1]
    assert port in " ".join(bot["healthcheck"]["test"])
    assert bot["profiles"] == ["discord"]


@pytest.mark.parametrize("venue", ["schwab", "tastytrade"])
def test_the_broker_streamers_run_only_with_their_profile_on_their_venues_port(venue: str) -> None:
    from streamers.registry import VENUES

    service = SERVICES[f"streamer-{venue}"]
    assert service["profiles"] == [venue], "off unless the profile is chosen"
    command = service["command"]
    assert command[:4] == ["python", "manage.py", "run_streamer", venue]
    port = command[command.index("--metrics-port") + 1]
    assert port == str(VENUES[venue].metrics_port)
    assert f"127.0.0.1:{port}/metrics" in " ".join(service["healthcheck"]["test"])
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (streamers,) = [job for job in config["scrape_configs"] if job["job_name"] == "streamers"]
    assert {"targets": [f"streamer-{venue}:{port}"], "labels": {"streamer": venue}} in streamers["static_configs"]
