"""Every /api/ request is logged with who and how long, and never with the secret."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tests.apps.api.conftest import Caller

pytestmark = pytest.mark.django_db


def test_requests_are_logged_with_token_and_status_but_never_the_secret(
    reader: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert reader.get("/api/ticks/last", symbol="ESZ26", count=5).status_code == 200
        Client().get("/api/symbols", headers={"Authorization": "Bearer wrong-secret-abcdef123456"})
    lines = [record.getMessage() for record in caplog.records if "api.request" in record.getMessage()]
    assert len(lines) == 2
    assert "'path': '/api/ticks/last'" in lines[0]
    assert "'status': 200" in lines[0]
    assert f"'token_id': {reader.token.pk}" in lines[0]
    assert f"'user_id': {reader.user.pk}" in lines[0]
    assert "'duration_ms'" in lines[0]
    assert "'status': 401" in lines[1]
    assert "'token_id': None" in lines[1]
    assert reader.secret not in caplog.text
    assert "wrong-secret-abcdef123456" not in caplog.text
    assert "count=5" not in caplog.text, "query strings are not logged"
