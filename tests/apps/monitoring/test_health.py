"""/health/live, /health/ready and /health/detailed with each dependency down in turn: the right
check fails, the others still answer, and the endpoint answers (bounded by the checks' timeouts)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client
from pydantic import SecretStr

from apps.accounts.services import token_create
from apps.core import keys
from apps.core.embedded_redis import free_port
from apps.core.redis import get_redis, reset_pools
from apps.monitoring.health import Outcome, Status
from apps.monitoring.registry import health_check_register, health_check_unregister
from tests.conftest import ProcessGroup

# Committed rows: each request and each check runs in a thread with a connection of its own.
pytestmark = pytest.mark.django_db(transaction=True)


def _detailed(client: Client, **headers: str) -> tuple[int, dict[str, Any]]:
    """GET /health/detailed from another thread, failing the test if it does not answer at all
    (a hung endpoint would otherwise hang the suite)."""
    box: list[Any] = []

    def request() -> None:
        try:
            box.append(client.get("/health/detailed", headers=headers))
        finally:
            connections.close_all()

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(60)
    assert box, "/health/detailed did not answer"
    return box[0].status_code, box[0].json()


@pytest.fixture
def staff(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


def _statuses(body: dict[str, Any]) -> dict[str, str]:
    return {name: check["status"] for name, check in body["checks"].items()}


def test_live_answers_and_detailed_needs_staff_or_a_token(client: Client, admin_user: Any, settings: Any) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    refused = client.get("/health/detailed")
    assert refused.status_code == 401
    assert "checks" not in refused.json()
    _, secret = token_create(user=admin_user, name="health")
    _, body = _detailed(client, Authorization=f"Bearer {secret}")
    assert "database" in body["checks"]
    assert client.get("/health/detailed", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    settings.ENV = settings.ENV.model_copy(update={"METRICS_TOKEN": SecretStr("ops-token-5c1e")})
    _, body = _detailed(client, Authorization="Bearer ops-token-5c1e")
    assert {"database", "redis", "lake", "lake_flush", "duckdb", "beat", "gexbot"} <= set(body["checks"])
    assert {"celery:default", "celery:flush", "streamer:simulator", "streamer:replay"} <= set(body["checks"])


def test_every_check_reports_its_status_detail_and_timing(staff: Client) -> None:
    _, body = _detailed(staff)
    statuses = _statuses(body)
    for name in ("database", "redis", "lake", "lake_flush", "duckdb"):
        assert statuses[name] == "ok", body["checks"][name]
    for check in body["checks"].values():
        assert check["seconds"] >= 0
        assert check["detail"]
    # No worker and no beat in this test: those checks say so without failing readiness.
    assert statuses["celery:default"] == "failed"
    assert "no live worker consumes queue default" in body["checks"]["celery:default"]["detail"]
    assert statuses["beat"] == "failed"
    assert body["checks"]["celery:default"]["critical"] is False
    assert staff.get("/health/ready").status_code == 200


@pytest.fixture
def own_redis(tmp_path: Path, settings: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of this test's own on a free port (the shared one is never stopped)."""
    port = free_port()
    server = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    reset_pools()
    yield server
    if server.poll() is None:
        server.kill()
    server.wait()
    reset_pools()


def test_redis_stopped_fails_the_redis_check_and_the_others_answer(
    staff: Client, own_redis: subprocess.Popen[bytes]
) -> None:
    _, body = _detailed(staff)
    assert _statuses(body)["redis"] == "ok"
    own_redis.terminate()
    own_redis.wait()

    status, body = _detailed(staff)
    statuses = _statuses(body)
    assert status == 503
    assert statuses["redis"] == "failed"
    assert "ConnectionError" in body["checks"]["redis"]["detail"]
    assert statuses["database"] == "ok"
    assert statuses["lake"] == "ok"
    ready = staff.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["redis"]


def test_a_hung_dependency_fails_its_check_at_its_timeout_and_the_endpoint_answers(staff: Client) -> None:
    """A dependency that accepts the connection and never answers, probed without a socket
    timeout of its own: the runner gives up on it, and every other check still reports."""
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]

    @dataclass(frozen=True)
    class SilentServiceCheck:
        name: str = "silent_service"
        critical: bool = False
        timeout: float = 0.5

        def check(self) -> Outcome:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.recv(1)  # never returns: the server never sends
            return Outcome(Status.OK, "answered")

    health_check_register(SilentServiceCheck())
    try:
        status, body = _detailed(staff)
    finally:
        health_check_unregister(name="silent_service")
        silent.close()
    assert body["checks"]["silent_service"]["status"] == "failed"
    assert body["checks"]["silent_service"]["detail"] == "no answer within 0.5 s"
    assert _statuses(body)["database"] == _statuses(body)["redis"] == "ok"
    assert status == 200  # not critical: the platform is degraded, not down
    assert body["status"] == "degraded"


def test_database_unreachable_fails_the_database_check_and_the_others_answer(
    staff: Client, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # New connections (each check runs in a thread of its own) go where nothing listens; this
    # test's own connection stays open, as a web process's would not.
    monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    # Sessions and API tokens live in the database: only the operations token still passes.
    assert _detailed(staff)[0] == 401
    settings.ENV = settings.ENV.model_copy(update={"METRICS_TOKEN": SecretStr("ops-token-5c1e")})
    status, body = _detailed(staff, Authorization="Bearer ops-token-5c1e")
    statuses = _statuses(body)
    assert status == 503
    assert statuses["database"] == "failed"
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert statuses["redis"] == "ok"
    assert statuses["lake"] == "ok"
    assert staff.get("/health/ready").json()["failing"] == ["database"]


def test_an_unwritable_lake_fails_the_lake_check_and_the_others_answer(
    staff: Client, tmp_path: Path, settings: Any
) -> None:
    # Tests run as root, whom a chmod does not stop: a file where the lake's parent directory
    # should be is refused for any user (ENOTDIR).
    blocker = tmp_path / "volume"
    blocker.write_text("not a directory")
    settings.LAKE_DIR = blocker / "lake"
    status, body = _detailed(staff)
    statuses = _statuses(body)
    assert status == 503
    assert statuses["lake"] == "failed"
    assert "cannot be written: NotADirectoryError" in body["checks"]["lake"]["detail"]
    assert statuses["database"] == statuses["redis"] == "ok"
    assert staff.get("/health/ready").json()["failing"] == ["lake"]


@pytest.mark.slow
def test_a_killed_worker_fails_its_queues_checks_once_its_record_expires(
    admin_user: Any, processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    from pipeline_project.celery import app
    from tests.conftest import celery_command

    process_env["WORKER_HEARTBEAT_SECONDS"] = "0.5"
    worker = processes.start(
        "worker",
        celery_command("worker", "-Q", "flush", "-c", "1", "--hostname", f"h9kill-{os.getpid()}@%h"),
        process_env,
    )
    client = Client()
    client.force_login(admin_user)
    deadline = time.monotonic() + 60
    while _statuses(_detailed(client)[1])["celery:flush"] != "ok":
        assert worker.poll() is None, processes.log("worker")
        assert time.monotonic() < deadline, processes.log("worker")
        time.sleep(0.5)
    _, body = _detailed(client)
    assert f"h9kill-{os.getpid()}@" in body["checks"]["celery:flush"]["detail"]
    assert _statuses(body)["celery:default"] == "failed"  # that worker does not consume it

    os.kill(worker.pid, signal.SIGKILL)  # no shutdown signal runs: the record must expire
    worker.wait()
    deadline = time.monotonic() + 30
    while (body := _detailed(client)[1])["checks"]["celery:flush"]["status"] != "failed":
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
    assert "no live worker consumes queue flush" in body["checks"]["celery:flush"]["detail"]
    assert _statuses(body)["database"] == _statuses(body)["redis"] == "ok"
    app.control.purge()


def _streamer_status(*, feed: str, state: str, last_message: datetime) -> None:
    get_redis().hset(
        keys.streamer(feed), mapping={"state": state, "last_message_ms": int(last_message.timestamp() * 1000)}
    )


@pytest.mark.calendar
def test_a_stalled_streamer_fails_on_tuesday_in_regular_hours(staff: Client) -> None:
    """Tuesday 2026-12-01, 15:00 UTC = 10:00 New York: the market is open, and a feed connected
    but silent for five minutes is stale."""
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        _streamer_status(feed="replay", state="connected", last_message=datetime(2026, 12, 1, 14, 55, tzinfo=UTC))
        _, body = _detailed(staff)
    check = body["checks"]["streamer:replay"]
    assert check["status"] == "failed"
    assert check["detail"].startswith("stale: connected, last message 300 s ago; market open")


@pytest.mark.calendar
def test_a_streamer_that_hears_its_feed_is_ok_on_tuesday_in_regular_hours(staff: Client) -> None:
    """Tuesday 2026-12-01, 15:00 UTC: open, and the last message came two seconds ago."""
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        _streamer_status(feed="replay", state="connected", last_message=datetime(2026, 12, 1, 14, 59, 58, tzinfo=UTC))
        _, body = _detailed(staff)
    assert body["checks"]["streamer:replay"]["status"] == "ok"


@pytest.mark.calendar
@pytest.mark.parametrize(
    "now",
    [
        pytest.param(datetime(2026, 12, 5, 15, 0, tzinfo=UTC), id="saturday-2026-12-05"),
        pytest.param(datetime(2026, 11, 26, 15, 0, tzinfo=UTC), id="thanksgiving-2026-11-26"),
        pytest.param(datetime(2026, 12, 2, 2, 30, tzinfo=UTC), id="tuesday-night-2026-12-01-21h30-new-york"),
    ],
)
def test_an_idle_streamer_is_fine_while_its_market_is_closed(staff: Client, now: datetime) -> None:
    """The same five silent minutes on a weekend, a holiday, or at night: closed, not stale."""
    with time_machine.travel(now, tick=False):
        _streamer_status(
            feed="replay", state="connected", last_message=now.replace(minute=now.minute - 5 if now.minute >= 5 else 0)
        )
        _, body = _detailed(staff)
    check = body["checks"]["streamer:replay"]
    assert check["status"] == "ok"
    assert "market closed" in check["detail"]


@pytest.mark.calendar
def test_a_disconnected_streamer_fails_in_session_and_not_out_of_it(staff: Client) -> None:
    """Tuesday 2026-12-01 at 15:00 UTC (open) and Sunday 2026-12-06 at 15:00 UTC (closed)."""
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        _streamer_status(feed="replay", state="reconnecting", last_message=datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
        _, body = _detailed(staff)
        assert body["checks"]["streamer:replay"]["status"] == "failed"
    with time_machine.travel(datetime(2026, 12, 6, 15, 0, tzinfo=UTC), tick=False):
        _, body = _detailed(staff)
        assert body["checks"]["streamer:replay"]["status"] == "ok"


@pytest.mark.calendar
def test_a_feed_that_never_ran_fails_in_session_only_when_its_switch_is_on(staff: Client, settings: Any) -> None:
    """Tuesday 2026-12-01 at 15:00 UTC (open): Unusual Whales never started. Switched off
    (UW_ENABLED false) that is fine; switched on it is a failure."""
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        _, body = _detailed(staff)
        assert body["checks"]["streamer:uw"]["status"] == "ok"
        assert body["checks"]["streamer:uw"]["detail"] == "not running; market open"
        settings.ENV = settings.ENV.model_copy(update={"UW_ENABLED": True})
        _, body = _detailed(staff)
        assert body["checks"]["streamer:uw"]["status"] == "failed"
        assert body["checks"]["streamer:uw"]["detail"] == "not running; market open; UW_ENABLED is on"
    with time_machine.travel(datetime(2026, 12, 5, 15, 0, tzinfo=UTC), tick=False):  # Saturday
        _, body = _detailed(staff)
        assert body["checks"]["streamer:uw"]["status"] == "ok"
