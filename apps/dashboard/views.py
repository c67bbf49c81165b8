"""The live dashboard page. The page is a shell: its panels fill themselves from the REST API
(`/api/`) and the WebSocket topics (`/ws/`) with the browser's session, so this view only
renders the frame and the dependency checks of the moment."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core.health import readiness_checks
from apps.gex.offered import futures_gex, offered_categories, offered_tickers

BAR_INTERVALS = ("1s", "5s", "1m", "5m", "1h")


@staff_member_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    # Only tickers and categories that receive data here, futures first; the chart's symbol
    # picks its GEX ticker (ES -> ES_SPX) from `gex_for_futures`.
    tickers = offered_tickers()
    context = {
        "checks": readiness_checks(),
        "gex_tickers": tickers,
        "gex_categories": offered_categories(),
        "gex_for_futures": {
            root: {"ticker": item.ticker, "index": item.index} for root, item in futures_gex(offered=tickers).items()
        },
        "bar_intervals": BAR_INTERVALS,
    }
    return render(request, "dashboard/index.html", context)
