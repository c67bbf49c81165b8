from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.core.runtime_config import refresh_if_stale


class RuntimeConfigMiddleware:
    """Keeps this web process's runtime configuration fresh (one Redis GET every few seconds)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/health/"):
            refresh_if_stale()
        return self.get_response(request)


# Everything the dashboard, the admin and the API docs (ninja's Swagger UI, from our static
# files) load comes from this origin, and none of them needs inline script or style: so no
# 'unsafe-inline', no CDN. WebSockets to the same host match 'self' (CSP Level 3); images may
# be data: URIs (Swagger UI's icons, the admin's). The one inline style allowed is the
# TradingView attribution logo's <style> element, which the vendored Lightweight Charts inserts:
# allowed by its hash (tests/apps/core/test_content_security_policy.py recomputes it from the file).
CHART_LOGO_STYLE_HASH = "sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY="
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' '{CHART_LOGO_STYLE_HASH}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class ContentSecurityPolicyMiddleware:
    """Sends CONTENT_SECURITY_POLICY with every response that does not set its own (Django 5.2
    has no CSP support of its own): a script injected into a page could not run or call out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
