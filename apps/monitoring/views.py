"""/health/live, /health/ready and /health/detailed: thin doors over the same checks.

- live: the process answers (no dependency is asked);
- ready: the critical checks, 503 when one fails (load balancers and compose's healthcheck);
- detailed: every check with its status, detail and timing, for staff, an API token, or the
  METRICS_TOKEN bearer (which works while the database, where users and tokens live, is down).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from apps.accounts.services import token_user
from apps.monitoring.health import CheckResult, Status, checks_run, overall
from apps.monitoring.registry import health_checks


def _body(results: list[CheckResult], *, status: Status) -> dict[str, object]:
    return {
        "status": status.value,
        "failing": [result.name for result in results if result.status == Status.FAILED],
        # Ready, but needing attention soon (a refresh token that ends within a day).
        "warnings": [result.name for result in results if result.status == Status.DEGRADED],
        "checks": {
            result.name: {
                "ok": result.ok,
                "status": result.status.value,
                "critical": result.critical,
                "detail": result.detail,
                "seconds": result.seconds,
            }
            for result in results
        },
    }


@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    results = checks_run(health_checks(critical_only=True))
    status = overall(results)
    body = _body(results, status=status)
    body["status"] = "unavailable" if status == Status.FAILED else "ok"
    return JsonResponse(body, status=503 if status == Status.FAILED else 200)


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def _allowed(request: HttpRequest) -> bool:
    given = _bearer(request)
    operations = settings.ENV.METRICS_TOKEN.get_secret_value()
    if given and operations and hmac.compare_digest(given.encode(), operations.encode()):
        return True
    try:
        if given:
            return token_user(given) is not None
        user = request.user
        return bool(user.is_authenticated and user.is_staff)
    except DatabaseError:
        return False  # users and tokens live in the database: only METRICS_TOKEN passes now


@require_GET
def health_detailed(request: HttpRequest) -> JsonResponse:
    if not _allowed(request):
        refused = JsonResponse(
            {"detail": "/health/detailed is for staff, an API token, or Authorization: Bearer <METRICS_TOKEN>"},
            status=401,
        )
        refused["WWW-Authenticate"] = 'Bearer realm="health"'
        return refused
    results = checks_run(health_checks())
    status = overall(results)
    return JsonResponse(_body(results, status=status), status=503 if status == Status.FAILED else 200)
