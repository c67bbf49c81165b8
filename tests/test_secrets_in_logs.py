"""No secret in any log: known secret values (an API token, the GEXBot key, passwords inside
REDIS_URL and DATABASE_URL, a presigned query) go through the real platform pieces — a uvicorn
web process with its access log on (as the Dockerfile runs it), `manage.py config show|diff`, a
GEXBot history import against the fake — by the requests that used to print them, and every
line those processes wrote is searched for each secret. The same logs show client errors as one
line and no traceback with local variables."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from apps.accounts.services import token_create
from apps.core.embedded_redis import free_port
from apps.core.redis import get_redis
from tests.conftest import ProcessGroup
from tests.fakes.gexbot import FAKE_API_KEY, FakeGEXBot
from tests.fakes.uw import FAKE_TOKEN as UW_TOKEN
from tests.fakes.uw import FakeUWThread, flow_alert

ROOT = Path(__file__).resolve().parent.parent
REDIS_PASSWORD = "redis-pass-7731"
DATABASE_PASSWORD = "db-pass-5521"
TWENTY_MB = 20 * 1024 * 1024


def http(url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def raw_http(port: int, request: bytes) -> bytes:
    """A request as bytes, for a Host header urllib would not send."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        return sock.recv(65536)


async def websocket_sessions(port: int, token: str) -> tuple[str | None, int | None]:
    """A client with its token as a subprotocol subscribes; an old client sends ?token= and is refused."""
    async with connect(
        f"ws://127.0.0.1:{port}/ws/trades", subprotocols=["pipeline.v1", f"token.{token}"], open_timeout=30
    ) as ws:  # type: ignore[list-item]
        answered = ws.subprotocol
        await ws.send('{"action": "subscribe", "symbols": ["ESZ26"]}')
        await asyncio.wait_for(ws.recv(), 30)
    async with connect(f"ws://127.0.0.1:{port}/ws/trades?token={token}", open_timeout=30) as old:
        try:
            await asyncio.wait_for(old.recv(), 30)
        except ConnectionClosed as closed:
            return answered, closed.rcvd.code if closed.rcvd else None
    return answered, None


def start_web(processes: ProcessGroup, env: dict[str, str]) -> int:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "pipeline_project.asgi:application"]
    process = processes.start("web", [*args, "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"], env)
    deadline = time.monotonic() + 60
    while not _live(port):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the web process did not start:\n{processes.log('web')}")
        time.sleep(0.3)
    return port


def _live(port: int) -> bool:
    try:
        return http(f"http://127.0.0.1:{port}/health/live") == 200
    except OSError:
        return False


def run_logged(processes: ProcessGroup, name: str, args: list[str], env: dict[str, str]) -> int:
    process = processes.start(name, [sys.executable, "manage.py", *args], env)
    return process.wait(timeout=180)


@pytest.mark.slow
def test_no_secret_reaches_any_log(processes: ProcessGroup, process_env: dict[str, str], tmp_path: Path) -> None:
    user = get_user_model().objects.create_user(username="ops", password="not-logged-either-1", is_staff=True)
    _, api_token = token_create(user=user, name="secrets test")
    env = {
        **process_env,
        # Real ALLOWED_HOSTS (the test settings allow any host).
        "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.local",
        "PIPELINE_ENV_FILE": os.devnull,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "INFO",
        "LAKE_DIR": str(tmp_path / "lake"),
        "GEXBOT_API_KEY": FAKE_API_KEY,
    }

    port = start_web(processes, env)
    base = f"http://127.0.0.1:{port}"
    assert asyncio.run(websocket_sessions(port, api_token)) == ("pipeline.v1", 4401)
    # A 4xx with the token in the query string (401: a query string is no way to sign in).
    assert http(f"{base}/api/ticks?symbol=ESZ26&token={api_token}") == 401
    assert http(f"{base}/api/nothing-here?token={api_token}", headers={"Authorization": f"Bearer {api_token}"}) == 404
    # 20 MB bodies: to the API (413) and to a form Django's CSRF check reads (400).
    big = b"{" + b" " * TWENTY_MB + b"}"
    auth = {"Authorization": f"Bearer {api_token}", "Content-Type": "application/json"}
    assert http(f"{base}/api/control/purge", method="POST", body=big, headers=auth) == 413
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "csrftoken=" + "a" * 32}
    assert http(f"{base}/admin/login/?next=/&token={api_token}", method="POST", body=b"a=" + big, headers=form) == 400
    answer = raw_http(port, b"GET /api/symbols HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")

    # config show and diff, with passwords inside the URLs.
    with_passwords = {
        **env,
        "REDIS_URL": env["REDIS_URL"].replace("redis://", f"redis://:{REDIS_PASSWORD}@", 1),
        "DATABASE_URL": f"postgres://app:{DATABASE_PASSWORD}@db.invalid:5432/app",
    }
    assert run_logged(processes, "config-diff", ["config", "diff"], with_passwords) == 0
    assert (
        run_logged(
            processes, "config-show", ["config", "show"], {**with_passwords, "DATABASE_URL": env["DATABASE_URL"]}
        )
        == 0
    )
    # A bad value in a URL with a password: start-up refuses it, quoting it.
    bad = {**with_passwords, "DATABASE_URL": f"mysql://app:{DATABASE_PASSWORD}@db.invalid/app"}
    assert run_logged(processes, "config-bad", ["config", "show"], bad) != 0

    # A GEXBot history download from the presigned URL the API hands out (--url: a fixed day
    # with --date-from would depend on today's date and GEXBot's 90-day window).
    with FakeGEXBot() as fake:
        link = urllib.request.Request(
            f"{fake.base_url}/hist/SPX/classic/gex_full/2026-04-29?noredirect",
            headers={
                "Authorization": f"Bearer {FAKE_API_KEY}",
                "User-Agent": "secrets-test",
                "Accept": "application/json",
            },
        )
        with urllib.request.urlopen(link, timeout=30) as response:
            presigned = json.loads(response.read())["url"]
        gex_env = {**env, "GEXBOT_BASE_URL": fake.base_url}
        imported = ["import_gex_history", "--url", presigned, "--wait"]
        assert run_logged(processes, "gex-history", imported, gex_env) == 0, processes.log("gex-history")
        signatures = [request.query.split("=", 1)[1] for request in fake.requests_to("/presigned/")]
    assert signatures

    processes.stop_all()
    logs = {name: processes.log(name) for name, _ in processes.processes}
    assert "DATABASE_URL" in logs["config-bad"]
    assert "redis://:***@" in logs["config-show"]
    secrets = {
        "API token": api_token,
        "GEXBOT_API_KEY": FAKE_API_KEY,
        "REDIS_URL password": REDIS_PASSWORD,
        "DATABASE_URL password": DATABASE_PASSWORD,
        **{f"presigned signature {i}": signature for i, signature in enumerate(signatures)},
    }
    found = [
        f"{what} in {name}: {line[:200]}"
        for name, text in logs.items()
        for line in text.splitlines()
        for what, secret in secrets.items()
        if secret in line
    ]
    assert not found, "\n".join(found)

    web = logs["web"]
    # The requests were logged (redacted), not silenced.
    assert "token=***" in web
    for traceback_mark in ("Traceback", "locals", "╭"):
        assert traceback_mark not in web, web[-4000:]
    assert len([line for line in web.splitlines() if "Invalid HTTP_HOST header" in line]) == 1
    assert len([line for line in web.splitlines() if "DATA_UPLOAD_MAX_MEMORY_SIZE" in line]) == 1
    assert len([line for line in web.splitlines() if "Request Entity Too Large" in line]) == 1


def _until(condition: object, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.mark.slow
def test_the_uw_token_reaches_no_log(processes: ProcessGroup, process_env: dict[str, str], tmp_path: Path) -> None:
    """`run_streamer uw` puts its token in the socket URL (`?token=`, UW's only way) and in the
    REST back-fill's Authorization header: neither reaches its log, through a connection, a
    dropped connection, a back-fill, and a refused token (which stops the streamer, naming the
    variable)."""
    wrong = "uw-wrong-token-never-logged-4242"
    with FakeUWThread() as (fake, call):
        env = {
            **process_env,
            "PIPELINE_ENV_FILE": os.devnull,
            "LOG_LEVEL": "DEBUG",
            "UW_ENABLED": "true",
            "UW_API_TOKEN": UW_TOKEN,
            "UW_SOCKET_URL": fake.socket_url,
            "UW_API_URL": fake.api_url,
        }
        command = [sys.executable, "manage.py", "run_streamer", "uw", "--metrics-port", "0"]
        processes.start("uw", [*command, "--symbols", "flow-alerts"], env)
        _until(lambda: fake.connections and fake.connections[0].joins == ["flow-alerts"])
        call(fake.publish_alert(flow_alert(n=1)))
        _until(lambda: get_redis().xlen("uw:flow_alert:{UW}") == 1)
        call(fake.drop())  # reconnect, then the back-fill asks REST with the token
        _until(lambda: len(fake.connections) == 2 and fake.rest_requests)
        refused = processes.start("uw-refused", [*command, "--symbols", "news"], {**env, "UW_API_TOKEN": wrong})
        assert refused.wait(timeout=120) != 0
        processes.stop_all()
    logs = {name: processes.log(name) for name, _ in processes.processes}
    assert "streamer.connected" in logs["uw"]
    assert "uw.backfill" in logs["uw"]
    assert "UW_API_TOKEN was refused" in logs["uw-refused"]
    for name, text in logs.items():
        for secret in (UW_TOKEN, wrong):
            assert secret not in text, f"{name}: {text[-3000:]}"
