"""The admin of tokens (created with the secret shown once, revoked, never edited) and of the
control audit (read only), and the old /admin/api/ links that still land on them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client

from apps.accounts.models import ControlAction
from apps.accounts.services import control_perform, token_create, token_user

pytestmark = pytest.mark.django_db


def _admin_browser() -> Client:
    admin = User.objects.create_superuser(username="root", password="pw", email="root@localhost")
    browser = Client()
    browser.force_login(admin)
    return browser


def test_the_admin_creates_a_token_shows_its_secret_once_and_revokes_it() -> None:
    browser = _admin_browser()
    owner = User.objects.create_user(username="desk", password="pw")
    response = browser.post("/admin/accounts/apitoken/add/", {"user": owner.pk, "name": "dashboard"}, follow=True)
    assert response.status_code == 200
    secret = re.search(r"never shown again: ([\w-]+)", response.content.decode())
    assert secret is not None, "the secret is shown in a message after creation"
    found = token_user(secret.group(1))
    assert found is not None
    assert found[0] == owner
    token = found[1]
    assert token.name == "dashboard"
    again = browser.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert secret.group(1) not in again, "the secret is shown once only"

    browser.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_user(secret.group(1)) is None


def test_the_audit_is_visible_and_read_only_in_the_admin() -> None:
    operator = User.objects.create_user(username="operator", is_staff=True)
    reader = User.objects.create_user(username="reader")
    control_perform(user=operator, token=None, action="flush", params={}, perform=lambda: {"task_id": "t-1"})
    with pytest.raises(PermissionDenied):
        control_perform(user=reader, token=None, action="flush", params={}, perform=lambda: {"task_id": "t-2"})
    browser = _admin_browser()
    listing = browser.get("/admin/accounts/controlaction/")
    assert listing.status_code == 200
    assert listing.content.decode().count("flush") >= 2
    assert browser.get("/admin/accounts/controlaction/add/").status_code == 403
    row = ControlAction.objects.first()
    assert row is not None
    assert browser.post(f"/admin/accounts/controlaction/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ControlAction.objects.count() == 2


def test_links_to_the_old_admin_pages_land_on_the_new_ones() -> None:
    token, _ = token_create(user=User.objects.create_user(username="operator"), name="bridge")
    browser = _admin_browser()
    moved = browser.get("/admin/api/apitoken/?q=operator")
    assert moved.status_code == 301
    assert moved["Location"] == "/admin/accounts/apitoken/?q=operator"
    landed = browser.get(f"/admin/api/apitoken/{token.pk}/change/", follow=True)
    assert landed.status_code == 200
    assert token.prefix in landed.content.decode()
    assert browser.get("/admin/api/controlaction/", follow=True).redirect_chain == [
        ("/admin/accounts/controlaction/", 301)
    ]
