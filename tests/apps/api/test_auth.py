"""Signing in to the API: hashed bearer tokens, browser sessions with CSRF, revocation (the token
command and admin are tested in tests/apps/accounts/)."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from apps.accounts.models import APIToken
from apps.accounts.services import token_revoke, token_user
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import ENDPOINTS

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, params: dict[str, str], **headers: str) -> int:
    if method == "get":
        return client.get(path, params, headers=headers).status_code
    return client.post(path, params, content_type="application/json", headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "params"), ENDPOINTS)
def test_every_endpoint_refuses_a_caller_who_is_not_signed_in(method: str, path: str, params: dict[str, str]) -> None:
    # CSRF enforced as for a real client: a POST without a session is 401, not 403 "CSRF check Failed".
    client = Client(enforce_csrf_checks=True)
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
