"""The live dashboard page. The page is a shell: its panels fill themselves from the REST API
(`/api/`) and the WebSocket topics (`/ws/`) with the browser's session, so this view only
renders the frame and the dependency checks of the moment."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core.health import readiness_checks
from apps.gex.snapshots import CATEGORIES

# The GEX tickers the panel offers, futures first: a futures trader reads levels on ES and NQ.
GEX_TICKERS = ("ES_SPX", "NQ_NDX", "SPX")
BAR_INTERVALS = ("1s", "5s", "1m")


@staff_member_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    context = {
        "checks": readiness_checks(),
        "gex_tickers": GEX_TICKERS,
        "gex_categories": CATEGORIES,
        "bar_intervals": BAR_INTERVALS,
    }
    return render(request, "dashboard/index.html", context)
