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
