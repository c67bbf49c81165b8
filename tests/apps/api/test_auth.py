"""Signing in to the API: hashed bearer tokens, browser sessions with CSRF, revocation, and the
token commands and admin."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from apps.api.auth import token_user
from apps.api.models import APIToken
from apps.api.services import token_revoke
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import ENDPOINTS

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, params: dict[str, str], **headers: str) -> int:
    if method == "get":
        return client.get(path, params, headers=headers).status_code
    return client.post(path, params, content_type="application/json", headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "params"), ENDPOINTS)
def test_every_endpoint_refuses_a_caller_who_is_not_signed_in(method: str, path: str, params: dict[str, str]) -> None:
    client = Client()
    assert call(client, method, path, params) == 401
    assert call(client, method, path, params, Authorization="Bearer not-a-real-token") == 401
    assert call(client, method, path, params, Authorization="Basic dXNlcjpwYXNz") == 401


def test_a_token_is_kept_only_as_its_hash_and_signs_in(reader: Caller) -> None:
    row = APIToken.objects.get(pk=reader.token.pk)
    assert row.key_hash == hashlib.sha256(reader.secret.encode()).hexdigest()
    assert row.prefix == reader.secret[:8]
    stored = " ".join(str(value) for value in APIToken.objects.filter(pk=row.pk).values().first().values())
    assert reader.secret not in stored
    response = reader.get("/api/symbols")
    assert response.status_code == 200
    assert {"alias": "ES", "contract": response.json()["symbols"][0]["contract"]} in response.json()["symbols"]
    row.refresh_from_db()
    assert row.last_used is not None
    assert token_user(reader.secret) == (reader.user, row)


def test_a_revoked_token_and_an_inactive_user_are_refused(reader: Caller, staff: Caller) -> None:
    assert reader.get("/api/status/streamers").status_code == 200
    token_revoke(token=reader.token)
    assert reader.get("/api/status/streamers").status_code == 401
    assert token_user(reader.secret) is None

    staff.user.is_active = False
    staff.user.save()
    assert staff.get("/api/status/streamers").status_code == 401


def test_a_browser_session_signs_in_and_its_posts_need_the_csrf_token(staff: Caller, reader: Caller) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff.user)
    assert browser.get("/api/status/queues").status_code == 200
    refused = browser.post("/api/control/flush")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    browser.get("/admin/")  # any page that sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    accepted = browser.post("/api/control/flush", headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["task_id"]

    plain = Client()
    plain.force_login(reader.user)
    assert plain.get("/api/status/queues").status_code == 200
    assert plain.post("/api/control/flush").status_code == 403


def test_manage_py_api_token_creates_lists_and_revokes() -> None:
    User.objects.create_user(username="bridge", password="x")
    output = io.StringIO()
    call_command("api_token", "create", "--user", "bridge", "--name", "sierra bridge", stdout=output)
    secret = output.getvalue().strip().splitlines()[-1]
    found = token_user(secret)
    assert found is not None
    assert found[1].name == "sierra bridge"

    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert secret[:8] in listing.getvalue()
    assert secret not in listing.getvalue()
    assert "active" in listing.getvalue()

    call_command("api_token", "revoke", secret[:8], stdout=io.StringIO())
    assert token_user(secret) is None
    with pytest.raises(CommandError, match="--user: no user named 'nobody'"):
        call_command("api_token", "create", "--user", "nobody", "--name", "x")
    with pytest.raises(CommandError, match="no token with prefix 'zzzzzzzz'"):
        call_command("api_token", "revoke", "zzzzzzzz")


def test_the_admin_creates_a_token_shows_its_secret_once_and_revokes_it() -> None:
    admin = User.objects.create_superuser(username="root", password="pw", email="root@localhost")
    owner = User.objects.create_user(username="desk", password="pw")
    browser = Client()
    browser.force_login(admin)
    response = browser.post("/admin/api/apitoken/add/", {"user": owner.pk, "name": "dashboard"}, follow=True)
    assert response.status_code == 200
    secret = re.search(r"never shown again: ([\w-]+)", response.content.decode())
    assert secret is not None, "the secret is shown in a message after creation"
    token = APIToken.objects.get(name="dashboard")
    assert token.user == owner
    assert token_user(secret.group(1)) == (owner, token)
    again = browser.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    assert secret.group(1) not in again, "the secret is shown once only"

    browser.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_user(secret.group(1)) is None
