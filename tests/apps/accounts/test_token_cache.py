"""Signed-in tokens are remembered per process (apps/accounts/token_cache.py), and a revocation,
a deactivated or deleted user, made in any process, is refused on the very next request of every
other: real uvicorn, real Redis, real database, the change made by another process."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import APIToken
from apps.accounts.services import token_create, token_hash, token_revoke, token_user
from apps.accounts.token_cache import TokenCache
from apps.core import keys
from apps.core.redis import get_redis
from tests.apps.realtime.conftest import LiveServer, ws_server  # noqa: F401 - the live server fixture

ROOT = Path(__file__).resolve().parents[3]
NOON = "2026-11-24T12:00:00Z"


def status(server: LiveServer, secret: str) -> int:
    request = urllib.request.Request(server.http("/api/symbols"), headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def in_another_process(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(
    ws_server: LiveServer,  # noqa: F811
    process_env: dict[str, str],
) -> None:
    token, secret = token_create(user=User.objects.create_user(username="desk"), name="script")
    _, other_secret = token_create(user=User.objects.create_user(username="bridge"), name="bridge")
    assert status(ws_server, secret) == 200
    assert status(ws_server, secret) == 200  # now answered from the web process's memory
    assert status(ws_server, other_secret) == 200

    in_another_process(process_env, "api_token", "revoke", token.prefix)
    assert status(ws_server, secret) == 401
    assert status(ws_server, other_secret) == 200, "only the revoked token is refused"


def test_a_user_deactivated_or_deleted_by_another_process_is_refused_on_the_next_request(
    ws_server: LiveServer,  # noqa: F811
    process_env: dict[str, str],
) -> None:
    _, secret = token_create(user=User.objects.create_user(username="desk"), name="script")
    _, other_secret = token_create(user=User.objects.create_user(username="bridge"), name="bridge")
    assert status(ws_server, secret) == 200
    assert status(ws_server, other_secret) == 200

    code = "from django.contrib.auth.models import User; u = User.objects.get(username='desk'); u.is_active = False; u.save()"
    in_another_process(process_env, "shell", "-c", code)
    assert status(ws_server, secret) == 401

    in_another_process(
        process_env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; User.objects.get(username='bridge').delete()",
    )
    assert status(ws_server, other_secret) == 401


def test_a_remembered_token_costs_no_database_query_until_something_changes(db: None) -> None:
    user = User.objects.create_user(username="desk")
    token, secret = token_create(user=user, name="script")
    client = Client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/symbols", headers=headers).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/symbols", headers=headers).status_code == 200
    assert not [q for q in queries.captured_queries if "api_apitoken" in q["sql"]], "signed in from memory"

    user.is_staff = True  # any change of a user or a token: every process looks its tokens up again
    user.save()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/symbols", headers=headers).status_code == 200
    assert [q for q in queries.captured_queries if "api_apitoken" in q["sql"]]
    token_revoke(token=token)
    assert client.get("/api/symbols", headers=headers).status_code == 401


def test_two_processes_caches_each_forget_on_a_change_made_in_a_thread(transactional_db: None) -> None:
    """Two caches stand for two web processes; the revocation commits on another connection."""
    token, secret = token_create(user=User.objects.create_user(username="desk"), name="script")
    first, second = TokenCache(), TokenCache()
    loads: list[str] = []

    def load() -> Any:
        loads.append("db")
        row = (
            APIToken.objects.select_related("user").filter(key_hash=token_hash(secret), revoked_at__isnull=True).first()
        )
        return (row.user, row) if row else None

    for cache in (first, second, first, second):
        assert cache.lookup(token_hash(secret), load) is not None
    assert len(loads) == 2, "each process loads once, then answers from memory"

    def revoke() -> None:
        token_revoke(token=APIToken.objects.get(pk=token.pk))
        connection.close()

    thread = threading.Thread(target=revoke)
    thread.start()
    thread.join()
    assert first.lookup(token_hash(secret), load) is None
    assert second.lookup(token_hash(secret), load) is None


def test_a_redis_that_lost_the_generation_still_makes_every_process_forget(db: None) -> None:
    user = User.objects.create_user(username="desk")
    token, secret = token_create(user=user, name="script")
    user.save()  # a generation is set
    assert token_user(secret) is not None
    get_redis().flushdb()  # Redis restarted empty: the processes' generation is gone
    assert token_user(secret) is not None
    other = TokenCache()
    other.lookup(token_hash(secret), lambda: (user, token))  # remembered under "no generation"
    token_revoke(token=token)
    assert get_redis().get(keys.ACCOUNTS_TOKENS_GENERATION) is not None
    assert other.lookup(token_hash(secret), lambda: None) is None
    assert token_user(secret) is None


def test_last_used_is_still_written_once_a_minute_while_the_token_is_remembered(db: None) -> None:
    token, secret = token_create(user=User.objects.create_user(username="desk"), name="script")
    with time_machine.travel(NOON, tick=False) as clock:
        for _ in range(3):
            token_user(secret)
        first = APIToken.objects.get(pk=token.pk).last_used
        clock.shift(timedelta(seconds=61))
        token_user(secret)
        later = APIToken.objects.get(pk=token.pk).last_used
    assert first is not None
    assert first.isoformat() == "2026-11-24T12:00:00+00:00"
    assert later is not None
    assert later - first == timedelta(seconds=61)


def test_unknown_tokens_are_never_remembered(db: None) -> None:
    cache = TokenCache()
    loads: list[int] = []
    for _ in range(3):
        assert cache.lookup(token_hash("not-a-token"), lambda: loads.append(1)) is None
    assert len(loads) == 3
