from __future__ import annotations

import hmac
from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from apps.core.health import readiness_checks


@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    checks = readiness_checks()
    failing = [check.name for check in checks if not check.ok]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "warnings": [check.name for check in checks if check.warning],
        "checks": {
            check.name: {"ok": check.ok, "warning": check.warning, "detail": check.detail, "seconds": check.seconds}
            for check in checks
        },
    }
    return JsonResponse(body, status=503 if failing else 200)


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ip_address(address).is_loopback
    except ValueError:
        return False


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's /metrics: with METRICS_TOKEN set, for `Authorization: Bearer <token>` only;
    without it, for clients on this machine only (metrics name streams, symbols and queues)."""
    token = settings.ENV.METRICS_TOKEN.get_secret_value()
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            refused = JsonResponse({"detail": "/metrics needs Authorization: Bearer <METRICS_TOKEN>"}, status=401)
            refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return refused
    elif not _loopback(request.META.get("REMOTE_ADDR")):
        return JsonResponse(
            {"detail": "/metrics answers only this machine; set METRICS_TOKEN to scrape it from elsewhere"},
            status=403,
        )
    return ExportToDjangoView(request)
