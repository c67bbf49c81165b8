"""The web process's ASGI handler (pipeline_project/asgi_handler.py) answers every request as
Django's own ASGIHandler does: the same status, headers and bytes, for every API operation, an
unauthenticated call, a bad parameter, an unknown path, health, a static file and the streamed
export; Django's request signals fire once per request; the request log line is written."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.db import connection

from apps.accounts.services import token_create
from pipeline_project.asgi_handler import PooledThreadASGIHandler
from tests.apps.api.helpers import ENDPOINTS, trade, write
from tests.apps.batch.conftest import lake  # noqa: F401 - the fixtures of a lake day of ESZ25
from tests.apps.batch.test_gex_enrichment import market  # noqa: F401
from tests.factories import quote

pytestmark = pytest.mark.django_db(transaction=True)
NOW = "2026-11-24T15:30:00Z"  # an hour after the trades of tests/factories.py's T0


async def call(application: Any, method: str, path: str, query: str, headers: list[tuple[bytes, bytes]]) -> Any:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    received, sent = False, []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # after the body, a request waits for the disconnect that never comes
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start, bodies = sent[0], sent[1:]
    assert start["type"] == "http.response.start"
    assert bodies[-1].get("more_body", False) is False
    return start["status"], start["headers"], b"".join(message.get("body", b"") for message in bodies)


@functools.cache
def handlers() -> tuple[ASGIHandler, PooledThreadASGIHandler]:
    """One of each, as a web process has one (ours keeps its pool of threads)."""
    return ASGIHandler(), PooledThreadASGIHandler()


def both(method: str, path: str, query: str = "", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    async def run() -> Any:
        django_handler, our_handler = handlers()
        django = await call(django_handler, method, path, query, headers or [])
        ours = await call(our_handler, method, path, query, headers or [])
        return django, ours

    return asyncio.run(run())


@pytest.fixture
def bearer() -> list[tuple[bytes, bytes]]:
    _, secret = token_create(user=User.objects.create_user(username="desk", is_staff=True), name="script")
    write([[trade(i, 6000 + i * 0.25, seq=i) for i in range(50)], [quote(60, 6010.0, 6010.25)]])
    return [(b"authorization", f"Bearer {secret}".encode())]


def test_every_api_read_is_answered_byte_for_byte_as_by_djangos_handler(bearer: list[tuple[bytes, bytes]]) -> None:
    reads = [
        (path, "&".join(f"{k}={v}" for k, v in params.items())) for method, path, params in ENDPOINTS if method == "get"
    ]
    answered = set()
    with time_machine.travel(NOW, tick=False):
        for path, query in reads:
            django, ours = both("GET", path, query, bearer)
            assert ours == django, path
            answered.add(django[0])
        for path, query, headers in [
            ("/api/ticks/last", "symbol=ESZ26&count=5", []),  # not signed in
            ("/api/ticks/last", "symbol=ESZ26&count=0", bearer),  # a bad parameter
            ("/api/ticks/last", "symbol=nope!&count=5", bearer),
            ("/api/no-such-thing", "", bearer),
            ("/health/live", "", []),
            ("/static/core/base.css", "", []),  # a file, streamed by WhiteNoise
        ]:
            django, ours = both("GET", path, query, headers)
            assert ours == django, path
            answered.add(django[0])
        ticks = both("GET", "/api/ticks/last", "symbol=ESZ26&count=5", bearer)[1]
    assert {200, 401, 404, 422} <= answered, answered
    assert ticks[0] == 200
    assert b'"price":6012.25' in ticks[2], "the newest of the trades written"


def test_lake_reads_and_the_streamed_export_are_answered_as_by_djangos_handler(
    bearer: list[tuple[bytes, bytes]],
    market: Any,  # noqa: F811
) -> None:
    day = "symbol=ESZ25&start=2025-12-19T00:00:00Z&end=2025-12-20T00:00:00Z&interval=1m"
    bars = both("GET", "/api/bars", day, bearer)
    assert bars[1] == bars[0]
    assert bars[0][0] == 200
    assert b'"close":6003.0' in bars[0][2]
    for fmt in ("csv", "parquet"):
        export = both("GET", "/api/bars/export", f"{day}&format={fmt}", bearer)
        assert export[1] == export[0], fmt
        assert export[0][0] == 200
        assert len(export[0][2]) > 200, "the file has rows"


def test_djangos_request_signals_fire_once_per_request_in_the_thread_that_ran_it(
    bearer: list[tuple[bytes, bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, Any]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", connection))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", connection))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        with caplog.at_level(logging.INFO):
            status = asyncio.run(call(handlers()[1], "GET", "/api/symbols", "", bearer))[0]
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status == 200
    assert [name for name, _ in seen] == ["started", "finished"]
    assert seen[0][1] is seen[1][1], "close_old_connections sees the connection the request used"
    lines = [record.getMessage() for record in caplog.records if "api.request" in record.getMessage()]
    assert len(lines) == 1
    assert "'path': '/api/symbols'" in lines[0]
    assert "'status': 200" in lines[0]
