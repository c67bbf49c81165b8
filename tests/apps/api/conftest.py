"""Fixtures of the REST API tests: users, tokens and a client that sends a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from apps.accounts.models import APIToken
from apps.accounts.services import token_create


@dataclass
class Caller:
    user: User
    token: APIToken
    secret: str
    client: Client

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers={"Authorization": f"Bearer {self.secret}"})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            path, body or {}, content_type="application/json", headers={"Authorization": f"Bearer {self.secret}"}
        )


def make_caller(username: str, *, staff: bool) -> Caller:
    user = User.objects.create_user(username=username, password="pw-" + username, is_staff=staff)
    token, secret = token_create(user=user, name=f"{username} tests")
    return Caller(user, token, secret, Client())


@pytest.fixture
def reader(db: None) -> Caller:
    """A signed-in user who is not staff."""
    return make_caller("reader", staff=False)


@pytest.fixture
def staff(db: None) -> Caller:
    return make_caller("operator", staff=True)


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR
