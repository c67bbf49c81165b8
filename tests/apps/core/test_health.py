from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pydantic import SecretStr

from apps.core.embedded_redis import free_port
from apps.core.redis import reset_pools


def test_live_answers_without_dependencies(client: Client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_when_database_and_redis_answer(client: Client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"]["ok"]
    assert body["checks"]["database"]["ok"]


@pytest.mark.django_db
def test_ready_is_503_naming_redis_when_redis_is_down(client: Client, settings: pytest.FixtureRequest) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    reset_pools()
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert "Connection" in body["checks"]["redis"]["detail"]


@pytest.mark.django_db
def test_home_needs_staff_login(client: Client, admin_user: object) -> None:
    assert client.get("/").status_code == 302
    client.force_login(admin_user)  # type: ignore[arg-type]
    page = client.get("/")
    assert page.status_code == 200
    assert b"redis" in page.content


@pytest.mark.django_db
def test_metrics_are_served(client: Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests" in response.content


@pytest.mark.django_db
def test_metrics_without_a_token_answer_only_this_machine() -> None:
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    refused = Client(REMOTE_ADDR="203.0.113.7").get("/metrics")
    assert refused.status_code == 403
    assert "METRICS_TOKEN" in refused.json()["detail"]
    assert b"django_http_requests" not in refused.content


@pytest.mark.django_db
def test_metrics_with_a_token_need_it_from_everywhere(settings: Any) -> None:
    settings.ENV = settings.ENV.model_copy(update={"METRICS_TOKEN": SecretStr("scrape-me-7f3a")})
    for remote in ("127.0.0.1", "203.0.113.7"):
        client = Client(REMOTE_ADDR=remote)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic c2NyYXBlLW1lLTdmM2E="}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401, (remote, headers)
            assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
            assert "scrape-me" not in refused.content.decode()
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-7f3a"})
        assert allowed.status_code == 200
        assert b"django_http_requests" in allowed.content
