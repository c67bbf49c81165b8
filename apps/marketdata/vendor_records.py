"""A feed's own latest values that are not market events: tastytrade's day Summary and option
Greeks. The hot store keeps the latest of each per feed and symbol (`keys.vendor_summary`,
`keys.vendor_greeks`); nothing keeps their history (docs/architecture.md, "tastytrade feed").

Prices and greeks are floats as the vendor sent them; a value the vendor sent as "NaN" is None.
"""

from __future__ import annotations

import msgspec


class VendorSummary(msgspec.Struct, frozen=True, gc=False):
    """dxFeed Summary: the trading day's open, high, low and close so far, the previous day's
    close and volume, open interest. `*_close_type` is dxFeed's PriceType (REGULAR, INDICATIVE,
    PRELIMINARY, FINAL)."""

    symbol: str
    feed: str
    ts_event_ms: int  # the vendor's eventTime (0 when it sends none)
    ts_recv: int  # ns, ours
    day_id: int | None
    day_open: float | None
    day_high: float | None
    day_low: float | None
    day_close: float | None
    day_close_type: str | None
    prev_day_id: int | None
    prev_day_close: float | None
    prev_day_close_type: str | None
    prev_day_volume: float | None
    open_interest: float | None


class VendorGreeks(msgspec.Struct, frozen=True, gc=False):
    """dxFeed Greeks of an option: its theoretical price, implied volatility and greeks."""

    symbol: str
    feed: str
    ts_event_ms: int  # the vendor's `time` of the computation (else eventTime)
    ts_recv: int  # ns, ours
    price: float | None
    volatility: float | None
    delta: float | None
    gamma: float | None
    theta: float | None
    rho: float | None
    vega: float | None
