"""API tokens: the command that creates, lists and revokes them, and the sign-in check every door
uses (REST and WebSocket)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import APIToken
from apps.accounts.services import MAX_TOKEN_LENGTH, api_user_create, token_create, token_revoke, token_user
from apps.core.exceptions import BadInputError
from apps.core.services import admin_user_ensure

pytestmark = pytest.mark.django_db
NOON = "2026-11-24T12:00:00Z"


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
    with pytest.raises(CommandError, match="--name: a token needs a name"):
        call_command("api_token", "create", "--user", "bridge", "--name", "   ")
    with pytest.raises(CommandError, match="no token with prefix 'zzzzzzzz'"):
        call_command("api_token", "revoke", "zzzzzzzz")


def test_a_token_needs_a_name_and_its_secret_is_never_stored() -> None:
    user = User.objects.create_user(username="desk")
    with pytest.raises(BadInputError) as refused:
        token_create(user=user, name=" ")
    assert refused.value.field == "name"
    token, secret = token_create(user=user, name="  desk script ")
    stored = APIToken.objects.get(pk=token.pk)
    assert stored.name == "desk script"
    assert stored.prefix == secret[:8]
    assert secret not in {stored.key_hash, stored.name}


def test_token_user_signs_in_only_an_active_token_of_an_active_user() -> None:
    user = User.objects.create_user(username="desk")
    token, secret = token_create(user=user, name="script")
    assert token_user(f"  {secret}\n") == (user, token)
    assert token_user(secret[:-1]) is None
    assert token_user("") is None
    assert token_user("x" * (MAX_TOKEN_LENGTH + 1)) is None

    user.is_active = False
    user.save()
    assert token_user(secret) is None
    user.is_active = True
    user.save()
    token_revoke(token=token)
    assert token_user(secret) is None


def test_revoking_twice_keeps_the_first_revocation_time() -> None:
    token, _ = token_create(user=User.objects.create_user(username="desk"), name="script")
    with time_machine.travel(NOON, tick=False):
        token_revoke(token=token)
    with time_machine.travel("2026-11-25T12:00:00Z", tick=False):
        token_revoke(token=APIToken.objects.get(pk=token.pk))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.revoked_at.isoformat() == "2026-11-24T12:00:00+00:00"


def test_last_used_is_written_at_most_once_a_minute() -> None:
    token, secret = token_create(user=User.objects.create_user(username="desk"), name="script")
    with time_machine.travel(NOON, tick=False) as clock:
        token_user(secret)
        first = APIToken.objects.get(pk=token.pk).last_used
        clock.shift(timedelta(seconds=59))
        token_user(secret)
        assert APIToken.objects.get(pk=token.pk).last_used == first
        clock.shift(timedelta(seconds=1))
        token_user(secret)
        later = APIToken.objects.get(pk=token.pk).last_used
    assert first is not None
    assert later is not None
    assert later - first == timedelta(minutes=1)


README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readmes_api_token_lines_run_as_written_after_make_run_created_the_admin(
    settings: pytest.FixtureRequest,
) -> None:
    # What the run command does first: the superuser DJANGO_SUPERUSER_USERNAME ("admin").
    admin_user_ensure(username="admin", email="admin@localhost", password="")
    lines = [
        line.split("manage.py ", 1)[1].split("#")[0].split()
        for line in README.read_text().splitlines()
        if "manage.py api_token " in line
    ]
    assert [words[1] for words in lines] == ["create", "create", "list", "revoke"]
    secrets_by_user: dict[str, str] = {}
    for line in lines:
        words = [word.replace("<prefix>", secrets_by_user.get("grafana", "")[:8]) for word in line]
        output = io.StringIO()
        call_command(*words, stdout=output)
        if words[1] == "create":
            secrets_by_user[words[words.index("--user") + 1]] = output.getvalue().strip().splitlines()[-1]

    admin_token = token_user(secrets_by_user["admin"])
    assert admin_token is not None
    assert admin_token[0].is_staff
    assert token_user(secrets_by_user["grafana"]) is None, "the README's revoke line revoked it"
    grafana = User.objects.get(username="grafana")
    assert (grafana.is_staff, grafana.is_superuser, grafana.has_usable_password()) == (False, False, False)


def test_create_user_refuses_a_bad_username_and_a_user_that_exists() -> None:
    with pytest.raises(CommandError, match="--user: 'bad name!' is not a valid username"):
        call_command("api_token", "create", "--user", "bad name!", "--create-user", "--name", "x")
    assert not User.objects.filter(username="bad name!").exists()
    api_user_create(username="twice")
    with pytest.raises(BadInputError, match="exists already"):
        api_user_create(username="twice")
