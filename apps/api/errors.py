"""How the API answers errors, in one place: the application's own errors (apps/core/exceptions.py)
by kind — bad input names the field (422, the shape of ninja's validation errors), not found is
404, a backend out of reach is 503, any other is 400 with its message — a non-staff caller on a
control endpoint is 403, Redis or the broker out of reach is 503. A request Django finds
suspicious (a body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413; any other SuspiciousOperation: 400) is
the caller's mistake: answered with its message, logged in one line by django.request.

Anything else is a bug, a plain ValueError or KeyError included: it is logged with its traceback
and answered 500, never a 4xx that would blame the caller and hide it."""

from __future__ import annotations

from typing import Any

import redis
import structlog
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from kombu.exceptions import OperationalError
from ninja import NinjaAPI

from apps.core.exceptions import ApplicationError, BadInputError, NotFoundError, UnavailableError

log = structlog.get_logger(__name__)

# The most specific class in an error's MRO decides; ApplicationError itself is the fallback.
STATUS: dict[type[ApplicationError], int] = {
    BadInputError: 422,
    NotFoundError: 404,
    UnavailableError: 503,
    ApplicationError: 400,
}


def status_of(error: ApplicationError) -> int:
    return next(STATUS[kind] for kind in type(error).__mro__ if kind in STATUS)


def install_error_handlers(api: NinjaAPI) -> None:
    def application_error(request: HttpRequest, error: Any) -> HttpResponse:  # ninja types handlers loosely
        status = status_of(error)
        if isinstance(error, BadInputError):
            detail: Any = [{"type": "value_error", "loc": [error.where, error.field], "msg": error.message}]
        else:
            detail = error.message
        if status >= 500:
            log.error("api.backend_unavailable", path=request.path, error=error.message)
        return api.create_response(request, {"detail": detail}, status=status)

    def forbidden(request: HttpRequest, error: Any) -> HttpResponse:
        return api.create_response(request, {"detail": str(error) or "staff only"}, status=403)

    def unavailable(request: HttpRequest, error: Any) -> HttpResponse:
        log.error("api.backend_unavailable", path=request.path, error=f"{type(error).__name__}: {error}")
        return api.create_response(request, {"detail": f"a backend is unavailable: {type(error).__name__}"}, status=503)

    def bug(request: HttpRequest, error: Any) -> HttpResponse:
        # The traceback goes to the log, not to the caller.
        log.exception("api.unhandled_error", method=request.method, path=request.path, error=type(error).__name__)
        return api.create_response(request, {"detail": "internal error; it has been logged"}, status=500)

    def suspicious(request: HttpRequest, error: Any) -> HttpResponse:
        status = 413 if isinstance(error, RequestDataTooBig) else 400
        return api.create_response(request, {"detail": str(error)}, status=status)

    api.add_exception_handler(Exception, bug)
    api.add_exception_handler(SuspiciousOperation, suspicious)
    api.add_exception_handler(ApplicationError, application_error)
    api.add_exception_handler(PermissionDenied, forbidden)
    for backend_error in (redis.ConnectionError, redis.TimeoutError, OperationalError):
        api.add_exception_handler(backend_error, unavailable)
