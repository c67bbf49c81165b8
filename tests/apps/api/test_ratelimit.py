"""The per-caller rate limit: a shared Redis window, 429 with Retry-After, the limit from the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.core.runtime_config import clear_cache
from apps.core.services import runtime_setting_update
from tests.apps.api.conftest import Caller, make_caller

pytestmark = pytest.mark.django_db


def limit(value: int) -> None:
    runtime_setting_update(key="api.rate_limit_per_minute", value=value)
    clear_cache()  # this test's process reads the new value at once


def test_a_token_over_its_limit_gets_429_with_retry_after_and_others_keep_their_budget(reader: Caller) -> None:
    limit(3)
    assert [reader.get("/api/symbols").status_code for _ in range(3)] == [200, 200, 200]
    refused = reader.get("/api/ticks/last", symbol="ESZ26")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json() == {"detail": "Too many requests."}

    other = make_caller("other", staff=False)
    assert other.get("/api/symbols").status_code == 200, "each token has its own budget"
    browser = Client()
    browser.force_login(reader.user)
    assert browser.get("/api/symbols").status_code == 200, "a browser session has its own budget"

    limit(0)
    assert reader.get("/api/symbols").status_code == 200, "0 switches the limit off"


def test_the_limit_is_shared_by_every_client_of_one_token(reader: Caller) -> None:
    limit(2)
    second_process = Client()  # a second connection, as another web process would be
    headers = {"Authorization": f"Bearer {reader.secret}"}
    assert reader.get("/api/symbols").status_code == 200
    assert second_process.get("/api/symbols", headers=headers).status_code == 200
    assert second_process.get("/api/symbols", headers=headers).status_code == 429
