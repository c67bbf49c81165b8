"""The web process as the platform starts it answers an over-long URL with 414 at once: a
WebSocket handshake (which hung for the client's whole timeout before) and a plain request."""

from __future__ import annotations

import socket
import time

import pytest
from django.conf import settings

from apps.core.embedded_redis import free_port
from apps.core.platform import platform_processes
from pipeline_project.uvicorn_protocol import MAX_URL_BYTES
from tests.conftest import ProcessGroup

HANDSHAKE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def answer(port: int, path: str, *, websocket: bool) -> tuple[bytes, float]:
    """The first bytes the server sends back, and how long they took."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{HANDSHAKE if websocket else ''}\r\n"
        started = time.monotonic()
        connection.sendall(request.encode())
        try:
            data = connection.recv(200)
        except TimeoutError:
            data = b""
        return data, time.monotonic() - started


@pytest.fixture
def web_port(processes: ProcessGroup, process_env: dict[str, str]) -> int:
    port = free_port()
    (web,) = [spec for spec in platform_processes(env=settings.ENV, web_port=port, flower_port=0) if spec.name == "web"]
    command = [*web.command]
    command[command.index("--host") + 1] = "127.0.0.1"
    process = processes.start("web", command, process_env)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the web process did not start:\n{processes.log('web')}")
            time.sleep(0.1)


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "http"])
def test_an_over_long_url_is_answered_414_at_once(web_port: int, websocket: bool) -> None:
    for length in (MAX_URL_BYTES + 1, 9_000, 70_000):
        data, took = answer(web_port, "/ws/trades?x=" + "a" * length, websocket=websocket)
        assert data.startswith(b"HTTP/1.1 414 "), (length, data)
        assert took < 5, took
    # A URL inside the bound still reaches the application.
    data, _ = answer(web_port, "/ws/trades?x=" + "a" * 1000, websocket=websocket)
    assert not data.startswith(b"HTTP/1.1 414 ")
    assert data.startswith(b"HTTP/1.1 ")
