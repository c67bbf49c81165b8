"""The trade audit is read-only in the admin: listed, never added, changed or deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.core.clock import utc_now
from apps.trading.models import TradeAudit

pytestmark = pytest.mark.django_db


def test_the_audit_is_listed_but_cannot_be_added_changed_or_deleted(client: Client, settings: Any) -> None:
    admin = User.objects.create_superuser("boss", password="pw-boss-123")
    client.force_login(admin)
    row = TradeAudit.objects.create(at=utc_now(), kind=TradeAudit.Kind.REFUSED, rule="tick", user="111")
    listed = client.get("/admin/trading/tradeaudit/")
    assert listed.status_code == 200
    assert b"tick" in listed.content
    assert client.get("/admin/trading/tradeaudit/add/").status_code == 403
    assert client.post(f"/admin/trading/tradeaudit/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(f"/admin/trading/tradeaudit/{row.pk}/change/", {"rule": "changed"})
    row.refresh_from_db()
    assert row.rule == "tick"
    assert TradeAudit.objects.count() == 1
