from __future__ import annotations

import hmac
from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView


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
