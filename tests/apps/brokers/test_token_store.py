"""The token store: encrypted at rest, a key problem named, refresh under a lock two processes share."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from pydantic import SecretStr

from apps.brokers.crypto import TokenKeyError
from apps.brokers.selectors import token_get
from apps.brokers.services import token_refresh_with_lock, token_save
from apps.brokers.tokens import RefreshTokenExpiredError, TokenMissingError, TokenSet, TokenUpdate
from apps.core import keys
from apps.core.clock import utc_now
from pipeline_project.env import ConfigError, load_env
from tests.conftest import ProcessGroup


def _save(*, access_left: timedelta = timedelta(minutes=30), refresh_left: timedelta = timedelta(days=7)) -> TokenSet:
    now = utc_now()
    return token_save(
        provider="schwab",
        access_token="access-secret-1",
        access_expires_at=now + access_left,
        refresh_token="refresh-secret-1",
        refresh_expires_at=now + refresh_left,
        extra={"id_token": "id-secret"},
    )


def test_the_lock_key_is_pinned() -> None:
    assert keys.broker_refresh_lock("schwab", "default") == "brokers:refresh_lock:schwab:default"
    with pytest.raises(ValueError, match="account"):
        keys.broker_refresh_lock("schwab", "Bad Account!")


@pytest.mark.django_db
def test_tokens_are_stored_encrypted_and_read_back(token_key: str) -> None:
    _save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM brokers_brokertoken")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert "access-secret-1" not in row
    assert "refresh-secret-1" not in row
    assert "id-secret" not in row
    token = token_get(provider="schwab")
    assert (token.access_token, token.refresh_token, token.extra) == (
        "access-secret-1",
        "refresh-secret-1",
        {"id_token": "id-secret"},
    )
    assert "secret" not in repr(token)


@pytest.mark.django_db
def test_a_missing_key_is_named(settings: Any) -> None:
    settings.ENV = settings.ENV.model_copy(update={"BROKER_TOKEN_KEY": SecretStr("")})
    with pytest.raises(TokenKeyError, match="BROKER_TOKEN_KEY is not set"):
        _save()


@pytest.mark.django_db
def test_a_wrong_key_is_named_and_shows_no_secret(token_key: str, settings: Any) -> None:
    _save()
    settings.ENV = settings.ENV.model_copy(update={"BROKER_TOKEN_KEY": SecretStr(Fernet.generate_key().decode())})
    with pytest.raises(TokenKeyError, match="BROKER_TOKEN_KEY does not decrypt the stored schwab:default") as caught:
        token_get(provider="schwab")
    assert "secret-1" not in str(caught.value)


@pytest.mark.django_db
def test_a_rotated_key_still_opens_old_tokens(token_key: str, settings: Any) -> None:
    _save()
    new = Fernet.generate_key().decode()
    settings.ENV = settings.ENV.model_copy(update={"BROKER_TOKEN_KEY": SecretStr(f"{new},{token_key}")})
    assert token_get(provider="schwab").access_token == "access-secret-1"


def test_the_environment_refuses_a_malformed_key_and_requires_one_for_a_broker() -> None:
    with pytest.raises(ConfigError, match=r"BROKER_TOKEN_KEY: .*Fernet key"):
        load_env(environ={"BROKER_TOKEN_KEY": "not-a-key"})
    with pytest.raises(ConfigError, match="BROKER_TOKEN_KEY: is required when SCHWAB_ENABLED is on"):
        load_env(environ={"SCHWAB_ENABLED": "true", "SCHWAB_APP_KEY": "k", "SCHWAB_APP_SECRET": "s"})


@pytest.mark.django_db
def test_no_token_says_how_to_log_in(token_key: str) -> None:
    with pytest.raises(TokenMissingError, match=r"run: python manage\.py schwab_login"):
        token_get(provider="schwab")


@pytest.mark.django_db
def test_a_fresh_token_is_not_refreshed_and_an_expiring_one_is(token_key: str) -> None:
    calls: list[str] = []

    def refresh(current: TokenSet) -> TokenUpdate:
        calls.append(current.refresh_token)
        return TokenUpdate(access_token="access-secret-2", access_expires_at=utc_now() + timedelta(minutes=30))

    _save()
    assert token_refresh_with_lock(provider="schwab", refresh=refresh).access_token == "access-secret-1"
    assert calls == []
    saved = _save(access_left=timedelta(minutes=2))  # inside the 5-minute leeway
    token = token_refresh_with_lock(provider="schwab", refresh=refresh)
    assert calls == ["refresh-secret-1"]
    assert token.access_token == "access-secret-2"
    # Schwab does not extend the refresh token: its end is kept.
    assert token.refresh_token == "refresh-secret-1"
    assert token.refresh_expires_at == saved.refresh_expires_at
    assert token.refreshes == 1


@pytest.mark.django_db
def test_a_rejected_access_token_is_refreshed_once(token_key: str) -> None:
    calls: list[str] = []

    def refresh(current: TokenSet) -> TokenUpdate:
        calls.append(current.access_token)
        return TokenUpdate(access_token=f"access-{len(calls) + 1}", access_expires_at=utc_now() + timedelta(minutes=30))

    _save()
    first = token_refresh_with_lock(provider="schwab", refresh=refresh, rejected_access_token="access-secret-1")
    # A second caller that saw the same rejected token gets the replacement, no second refresh.
    second = token_refresh_with_lock(provider="schwab", refresh=refresh, rejected_access_token="access-secret-1")
    assert calls == ["access-secret-1"]
    assert first.access_token == second.access_token == "access-2"


@pytest.mark.django_db
def test_an_ended_refresh_token_is_not_spent_and_names_the_login(token_key: str) -> None:
    _save(access_left=timedelta(minutes=-1), refresh_left=timedelta(seconds=-1))

    def refresh(current: TokenSet) -> TokenUpdate:
        raise AssertionError("an ended refresh token must not be sent")

    with pytest.raises(RefreshTokenExpiredError, match=r"run: python manage\.py schwab_login"):
        token_refresh_with_lock(provider="schwab", refresh=refresh)


@pytest.mark.slow
def test_two_processes_refreshing_at_once_spend_the_refresh_token_once(
    token_key: str, processes: ProcessGroup, process_env: dict[str, str], tmp_path: Path
) -> None:
    """Both processes find the token expiring and ask for a refresh at the same moment; the lock
    lets one refresh, and the other reads the token it stored."""
    _save(access_left=timedelta(seconds=30))
    go, calls = tmp_path / "go", tmp_path / "calls"
    env = {**process_env, "BROKER_TOKEN_KEY": token_key}
    started = [
        processes.start(
            f"refresher{n}", [sys.executable, "-m", "tests.apps.brokers.refresher", str(go), str(calls)], env
        )
        for n in (1, 2)
    ]
    deadline = time.monotonic() + 60
    while not all("ready" in processes.log(f"refresher{n}") for n in (1, 2)):
        assert time.monotonic() < deadline, processes.log("refresher1") + processes.log("refresher2")
        assert all(process.poll() is None for process in started), processes.log("refresher1") + processes.log(
            "refresher2"
        )
        time.sleep(0.05)
    go.touch()
    for process in started:
        assert process.wait(timeout=60) == 0, processes.log("refresher1") + processes.log("refresher2")
    spent = calls.read_text().splitlines()
    assert len(spent) == 1, spent
    assert spent[0].endswith("spent refresh-secret-1")
    winner = spent[0].split()[0]
    outputs = [processes.log(f"refresher{n}") for n in (1, 2)]
    assert all(f"token access-from-{winner}" in output for output in outputs), outputs
    assert token_get(provider="schwab").refreshes == 1


def test_token_values_never_show_secrets_in_repr() -> None:
    update = TokenUpdate(
        access_token="a-secret", access_expires_at=datetime(2026, 12, 7, tzinfo=UTC), refresh_token="r-secret"
    )
    assert "secret" not in repr(update)
