"""A feed's own values beside the normalized events: tastytrade's latest Summary and Greeks per
symbol, Schwab's own minute bars. Hot store only (docs/architecture.md, "Vendor values")."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Query, Router

from apps.api.inputs import symbol_check, time_range
from apps.api.render import from_ms
from apps.api.schemas import NOT_FOUND, VendorBarsOut, VendorBarsQuery, VendorLatestOut, VendorLatestQuery
from apps.core.clock import to_epoch_ms
from apps.core.exceptions import NotFoundError
from apps.marketdata.selectors import vendor_bars_range, vendor_greeks_latest, vendor_summary_latest

router = Router(tags=["vendor"])


@router.get(
    "/vendor/latest",
    response={200: VendorLatestOut, **NOT_FOUND},
    summary="A feed's latest day summary and option greeks of a symbol (tastytrade)",
)
def vendor_latest(request: HttpRequest, query: Query[VendorLatestQuery]) -> dict[str, object]:
    symbol = symbol_check(query.symbol)
    summary = vendor_summary_latest(feed=query.feed, symbol=symbol)
    greeks = vendor_greeks_latest(feed=query.feed, symbol=symbol)
    if summary is None and greeks is None:
        raise NotFoundError(f"no summary or greeks of {symbol} from {query.feed} in the last 7 days")
    return {"symbol": symbol, "feed": query.feed, "summary": summary, "greeks": greeks}


@router.get(
    "/vendor/bars",
    response={200: VendorBarsOut, **NOT_FOUND},
    summary="A feed's own one-minute bars (Schwab CHART_FUTURES and back-filled price history)",
)
def vendor_bars(request: HttpRequest, query: Query[VendorBarsQuery]) -> dict[str, object]:
    symbol = symbol_check(query.symbol)
    start, end = time_range(query.start, query.end, default=timedelta(days=1), limit=timedelta(days=7))
    bars = vendor_bars_range(feed=query.feed, symbol=symbol, start_ms=to_epoch_ms(start), end_ms=to_epoch_ms(end))
    return {
        "symbol": symbol,
        "feed": query.feed,
        "start": start,
        "end": end,
        "bars": [
            {
                "time": from_ms(bar.start_ms),
                "start_ms": bar.start_ms,
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
            }
            for bar in bars
        ],
    }
