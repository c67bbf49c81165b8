"""Shared fixtures: a real Redis (flushed per test), a real database, real Celery workers,
and no network beyond this machine."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from apps.core.queues import Queue
from apps.core.redis import get_redis, reset_pools
from apps.core.runtime_config import clear_cache
from tests import libfaketime

ROOT = Path(__file__).resolve().parent.parent

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
libfaketime.adapt()


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Each test starts on an empty test database of the real Redis."""
    assert settings.REDIS_URL.endswith(f"/{settings.ENV.TEST_REDIS_DB}"), settings.REDIS_URL
    reset_pools()
    get_redis().flushdb()
    clear_cache()
    yield
    clear_cache()


def database_url() -> str:
    """A URL for the test database, for processes that tests start."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = quote(params.get("USER") or "")
    password = quote(params.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"


@pytest.fixture
def process_env(transactional_db: None) -> dict[str, str]:
    """Environment for a platform process started by a test: same Redis, the test database."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class ProcessGroup:
    """Processes a test started; all are stopped (SIGTERM, then SIGKILL) when it ends."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for _, process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for _, process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path)
    yield group
    group.stop_all()


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "pipeline_project", *args]


@pytest.fixture
def worker_process(processes: ProcessGroup, process_env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real `celery worker` process on every queue, running against the test database."""
    from pipeline_project.celery import app

    process = processes.start(
        "worker",
        celery_command("worker", "-Q", ",".join(Queue.all_names()), "-c", "1", "--hostname", f"test-{os.getpid()}@%h"),
        process_env,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"worker did not start:\n{processes.log('worker')}")
    return process


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[Any]:
    """A real Celery worker in a thread of this process (celery.contrib.testing)."""
    from celery.contrib.testing.worker import start_worker

    from pipeline_project.celery import app

    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=Queue.all_names(), shutdown_timeout=30
    ) as worker:
        yield worker
