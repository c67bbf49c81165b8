from __future__ import annotations

import pytest
from django.test import Client

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
