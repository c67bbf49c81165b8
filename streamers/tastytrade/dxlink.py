"""DXLink protocol facts the client and the parser share: the event types we subscribe to, the
channel each lives on, and the fields we ask for (the COMPACT column order).

The channels and field lists are the tastytrade SDK's own (`DXLinkStreamer`: one FEED channel per
event type, `Type = 2 * position + 1` over its event map; fields = its pydantic models' fields, in
order), so the frames we send are the frames the SDK sends. `Order` (depth) is not in the SDK; it
gets the next free channel and the fields of dxFeed's Order event.
Facts: shared/reference/protocols.md section 2.5-2.6.
"""

from __future__ import annotations

# The SDK's SETUP version string; the server answers with its own.
DXLINK_VERSION = "0.1-DXF-JS/0.3.0"
KEEPALIVE_TIMEOUT = 60

FIELDS: dict[str, tuple[str, ...]] = {
    "Quote": (
        "eventSymbol", "eventTime", "sequence", "timeNanoPart", "bidTime", "bidExchangeCode", "askTime",
        "askExchangeCode", "bidPrice", "askPrice", "bidSize", "askSize",
    ),
    "Trade": (
        "eventSymbol", "eventTime", "time", "timeNanoPart", "sequence", "exchangeCode", "dayId", "tickDirection",
        "extendedTradingHours", "price", "change", "size", "dayVolume", "dayTurnover",
    ),
    "TimeAndSale": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "timeNanoPart", "sequence", "exchangeCode",
        "price", "size", "bidPrice", "askPrice", "tradeThroughExempt", "aggressorSide", "spreadLeg",
        "extendedTradingHours", "validTick", "type", "buyer", "seller", "exchangeSaleConditions",
    ),
    "Summary": (
        "eventSymbol", "eventTime", "dayId", "dayClosePriceType", "prevDayId", "prevDayClosePriceType",
        "openInterest", "dayOpenPrice", "dayHighPrice", "dayLowPrice", "dayClosePrice", "prevDayClosePrice",
        "prevDayVolume",
    ),
    "Greeks": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "sequence", "price", "volatility", "delta",
        "gamma", "theta", "rho", "vega",
    ),
    # dxFeed Order: one resting order (or one price level, scope PRICE_LEVEL) keyed by `index`.
    "Order": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "sequence", "price", "size", "count", "side",
        "scope", "exchangeCode", "source",
    ),
}  # fmt: skip

# The SDK's channel numbers (its MAP_EVENTS order: Candle, Greeks, Profile, Quote, Summary,
# TheoPrice, TimeAndSale, Trade, Underlying -> 1, 3, ..., 17); Order takes 19.
CHANNELS: dict[str, int] = {
    "Greeks": 3,
    "Quote": 7,
    "Summary": 9,
    "TimeAndSale": 13,
    "Trade": 15,
    "Order": 19,
}
TYPES_BY_CHANNEL = {channel: event_type for event_type, channel in CHANNELS.items()}

# dxFeed eventFlags bits.
TX_PENDING = 0x1
REMOVE_EVENT = 0x2
SNAPSHOT_BEGIN = 0x4
SNAPSHOT_END = 0x8
SNAPSHOT_SNIP = 0x10
SNAPSHOT_MODE = 0x40

NAN_VALUES = frozenset({"NaN", "Infinity", "-Infinity"})
