"""A Schwab login lasts 7 days and refreshing does not extend it: the day before it ends,
/health/ready warns (naming what to run), a log line and a metric say it; after, readiness fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from prometheus_client import REGISTRY

from apps.brokers.services import token_save

# Logged in on Monday 30 November 2026 at 09:00 UTC: the refresh token ends Monday 7 December 09:00.
LOGIN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ENDS = LOGIN + timedelta(days=7)


def _login() -> None:
    with time_machine.travel(LOGIN, tick=False):
        token_save(
            provider="schwab",
            access_token="access-secret",
            access_expires_at=LOGIN + timedelta(minutes=30),
            refresh_token="refresh-secret",
            refresh_expires_at=ENDS,
            refresh_issued_at=LOGIN,
        )


def _metric(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


@pytest.mark.calendar
@pytest.mark.django_db
def test_saturday_two_days_before_the_end_is_ready_without_warning(client: Client, token_key: str) -> None:
    _login()
    with time_machine.travel(datetime(2026, 12, 5, 9, 0, tzinfo=UTC), tick=False):
        body = client.get("/health/ready").json()
    assert body["status"] == "ok"
    assert body["warnings"] == []
    assert body["checks"]["broker_tokens"]["ok"]
    assert _metric("pipeline_broker_refresh_token_expiring", provider="schwab", account="default") == 0


@pytest.mark.calendar
@pytest.mark.django_db
def test_sunday_23_hours_before_the_end_warns_logs_and_sets_the_metric(
    client: Client, token_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    _login()
    with time_machine.travel(datetime(2026, 12, 6, 10, 0, tzinfo=UTC), tick=False):
        response = client.get("/health/ready")
    body = response.json()
    assert response.status_code == 200  # still ready: the feed runs until the end
    assert body["warnings"] == ["broker_tokens"]
    detail = body["checks"]["broker_tokens"]["detail"]
    assert "schwab:default refresh token ends in 23.0 h" in detail
    assert "run: python manage.py schwab_login" in detail
    assert "secret" not in response.content.decode()
    assert _metric("pipeline_broker_refresh_token_expiring", provider="schwab", account="default") == 1
    assert (
        _metric("pipeline_broker_token_seconds_left", provider="schwab", account="default", token="refresh")
        == 23 * 3600
    )
    assert any("broker_token.refresh_expiring" in record.getMessage() for record in caplog.records)


@pytest.mark.calendar
@pytest.mark.django_db
def test_monday_after_the_end_is_not_ready_and_says_what_to_run(client: Client, token_key: str) -> None:
    _login()
    with time_machine.travel(ENDS + timedelta(minutes=1), tick=False):
        response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker_tokens"]
    assert (
        "refresh token ended at 2026-12-07 09:00 UTC; run: python manage.py schwab_login"
        in (body["checks"]["broker_tokens"]["detail"])
    )


@pytest.mark.calendar
@pytest.mark.django_db
def test_tokens_command_shows_the_state_without_secrets(token_key: str, capsys: Any) -> None:
    _login()
    with time_machine.travel(datetime(2026, 12, 6, 10, 0, tzinfo=UTC), tick=False):
        call_command("tokens")
    out = capsys.readouterr().out
    assert "schwab:default  refresh_expiring" in out
    assert "refresh 2026-12-07 09:00 UTC (23 h 00 min left)" in out
    assert "log in again: python manage.py schwab_login" in out
    assert "secret" not in out


@pytest.mark.django_db
def test_tokens_command_without_tokens_says_how_to_log_in(capsys: Any) -> None:
    call_command("tokens")
    assert "no broker token stored" in capsys.readouterr().out


@pytest.mark.calendar
@pytest.mark.django_db
def test_the_admin_shows_expiries_never_secrets(admin_client: Client, token_key: str) -> None:
    _login()
    with time_machine.travel(datetime(2026, 12, 6, 10, 0, tzinfo=UTC), tick=False):
        listing = admin_client.get("/admin/brokers/brokertoken/")
        row = listing.context["cl"].result_list[0]
        page = admin_client.get(f"/admin/brokers/brokertoken/{row.pk}/change/")
    html = listing.content.decode()
    assert listing.status_code == 200
    assert "refresh token ends in 23.0 h" in html
    assert "secret" not in html
    assert "gAAAA" not in html  # nor the Fernet text
    assert page.status_code == 200
    assert "2026-12-07" in page.content.decode() or "Dec. 7, 2026" in page.content.decode()
    assert "secret" not in page.content.decode()
    assert "gAAAA" not in page.content.decode()
