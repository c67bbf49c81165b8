from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

from apps.api.auth import Caller

log = structlog.get_logger("apps.api.requests")


class APIRequestLogMiddleware:
    """One log line per /api/ request: method, path (never the query string), status, duration
    and who called (token id or user id). Headers are never logged: they carry the secret."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        caller = getattr(request, "auth", None)
        who = caller.log_fields() if isinstance(caller, Caller) else {"user_id": None, "token_id": None}
        log.info(
            "api.request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            **who,
        )
        return response
