"""The real ASGI application in a real uvicorn server (a thread of the test process, on a free
port), a signed-in user, and an API token."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from apps.accounts.services import token_create


@dataclass(frozen=True)
class LiveServer:
    port: int

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def http(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def ws_server(transactional_db: None) -> Iterator[LiveServer]:
    from pipeline_project.asgi import application

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the uvicorn server did not start")
        time.sleep(0.02)
    yield LiveServer(port)
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture
def user(transactional_db: None) -> Any:
    return get_user_model().objects.create_user(username="trader", password="not-a-real-password")


@pytest.fixture
def session_cookie(user: Any) -> str:
    """A `Cookie` header of a browser signed in as `user`."""
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


@pytest.fixture
def api_token(user: Any) -> str:
    _, secret = token_create(user=user, name="websocket test")
    return secret
