"""How the API answers errors: bad input names the field (422, the shape of ninja's own
validation errors), other domain errors are 400 with their message, a non-staff caller on a
control endpoint is 403, Redis or the broker out of reach is 503. Nothing a client sends should
end in a 500."""

from __future__ import annotations

from typing import Any

import redis
import structlog
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from kombu.exceptions import OperationalError
from ninja import NinjaAPI

from apps.api.inputs import BadInputError

log = structlog.get_logger(__name__)


def install_error_handlers(api: NinjaAPI) -> None:
    def bad_input(request: HttpRequest, error: Any) -> HttpResponse:  # ninja types handlers loosely
        return api.create_response(request, {"detail": error.as_detail()}, status=422)

    def value_error(request: HttpRequest, error: Any) -> HttpResponse:
        return api.create_response(request, {"detail": str(error)}, status=400)

    def forbidden(request: HttpRequest, error: Any) -> HttpResponse:
        return api.create_response(request, {"detail": str(error) or "staff only"}, status=403)

    def unavailable(request: HttpRequest, error: Any) -> HttpResponse:
        log.error("api.backend_unavailable", path=request.path, error=f"{type(error).__name__}: {error}")
        return api.create_response(request, {"detail": f"a backend is unavailable: {type(error).__name__}"}, status=503)

    api.add_exception_handler(BadInputError, bad_input)
    api.add_exception_handler(ValueError, value_error)
    api.add_exception_handler(PermissionDenied, forbidden)
    for backend_error in (redis.ConnectionError, redis.TimeoutError, OperationalError):
        api.add_exception_handler(backend_error, unavailable)
