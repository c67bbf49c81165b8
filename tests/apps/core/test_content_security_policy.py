"""Every page carries a strict Content-Security-Policy: no inline script, no eval, no outside
origin (the browser test, tests/browser/test_dashboard.py, checks that nothing is refused)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.test import Client

from apps.core.middleware import CHART_LOGO_STYLE_HASH

ROOT = Path(__file__).resolve().parents[3]
CHARTS = ROOT / "static" / "vendor" / "lightweight-charts" / "lightweight-charts.standalone.production.js"


def directives(header: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/admin/", "/admin/auth/user/", "/api/docs", "/api/openapi.json", "/health/live"]
)
def test_every_page_has_a_strict_policy(path: str, admin_client: Client) -> None:
    response = admin_client.get(path)
    assert response.status_code == 200, path
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"], "no inline script, no eval, no CDN"
    assert policy["style-src"] == ["'self'", f"'{CHART_LOGO_STYLE_HASH}'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value or "http" in value for values in policy.values() for value in values)


@pytest.mark.django_db
def test_the_pages_load_nothing_from_elsewhere_and_nothing_inline(admin_client: Client) -> None:
    for path in ("/", "/admin/", "/admin/auth/user/", "/api/docs"):
        html = admin_client.get(path).content.decode()
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html), path
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", html), path
        assert "<style" not in html, path


def test_the_allowed_style_hash_is_the_vendored_charts_logo_style() -> None:
    match = re.search(r'createElement\("style"\),this\.\w+\.innerText="([^"]*)"', CHARTS.read_text())
    assert match, "the charts library no longer inserts its logo style: drop CHART_LOGO_STYLE_HASH"
    digest = base64.b64encode(hashlib.sha256(match[1].encode()).digest()).decode()
    assert f"sha256-{digest}" == CHART_LOGO_STYLE_HASH
