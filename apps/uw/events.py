"""Unusual Whales events (schema version 1): what the UW streamer and the REST back-fill produce,
what the hot store, the lake tables and the alert engine read.

Field names are UW's own (../shared/reference/protocols.md §3.2), so a reader who knows the
vendor's payloads knows these. Money and prices are `Decimal`, exactly as UW sent them (UW sends
them as strings, or for flow alerts as JSON numbers whose text is kept): never floats. Times:
`ts_event` and `ts_recv` are integer nanoseconds UTC like every event of ours; UW's own epoch
milliseconds (`executed_at`, `created_at`, `start_time`, `end_time`) are kept as they came.

An option's type, expiry and strike come with an option trade; a flow alert carries only the
OCC symbol (`option_chain`), which the parser splits into the same three fields.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import msgspec

SCHEMA_VERSION = 1

OptionType = Literal["call", "put"]
# Where an event came from: the socket, or a REST endpoint (the back-fill after a gap, the
# market-tide poll).
Origin = Literal["socket", "rest"]


def _moneyness(*, option_type: str, strike: Decimal, underlying_price: Decimal) -> Decimal | None:
    """How far out of the money, in percent of the underlying's price: positive when out of the
    money (a call above spot, a put below), negative in the money; None without a price."""
    if underlying_price <= 0:
        return None
    distance = strike - underlying_price if option_type == "call" else underlying_price - strike
    return distance * 100 / underlying_price


class OptionTrade(msgspec.Struct, frozen=True, gc=False, kw_only=True, tag="uw_option_trade"):
    """One option print from `option_trades` / `option_trades:<TICKER>`."""

    id: str
    underlying_symbol: str
    option_symbol: str
    option_type: OptionType
    expiry: date
    strike: Decimal
    ts_event: int  # executed_at, in ns
    ts_recv: int
    executed_at: int  # ms, as UW sent it
    created_at: int  # ms
    price: Decimal
    size: int
    premium: Decimal
    nbbo_bid: Decimal
    nbbo_ask: Decimal
    ewma_nbbo_bid: Decimal | None = None
    ewma_nbbo_ask: Decimal | None = None
    underlying_price: Decimal
    volume: int
    open_interest: int
    # Model values: exact as sent, None when UW left them empty.
    implied_volatility: Decimal | None = None
    delta: Decimal | None = None
    gamma: Decimal | None = None
    theta: Decimal | None = None
    vega: Decimal | None = None
    rho: Decimal | None = None
    theo: Decimal | None = None
    trade_code: str = ""
    exchange: str = ""
    tags: tuple[str, ...] = ()
    report_flags: tuple[str, ...] = ()
    ask_vol: int = 0
    bid_vol: int = 0
    no_side_vol: int = 0
    mid_vol: int = 0
    multi_vol: int = 0
    stock_multi_vol: int = 0
    origin: Origin = "socket"

    @property
    def side(self) -> Literal["ask", "bid", "mid", "none"]:
        """Where the print hit the NBBO, from UW's tags (`ask_side`, `bid_side`, `mid_side`)."""
        for tag, side in (("ask_side", "ask"), ("bid_side", "bid"), ("mid_side", "mid")):
            if tag in self.tags:
                return side  # type: ignore[return-value]
        return "none"

    @property
    def otm_percent(self) -> Decimal | None:
        return _moneyness(option_type=self.option_type, strike=self.strike, underlying_price=self.underlying_price)

    def days_to_expiry(self, *, on: date) -> int:
        return (self.expiry - on).days


class FlowAlert(msgspec.Struct, frozen=True, gc=False, kw_only=True, tag="uw_flow_alert"):
    """One alert of UW's own flow rules (`flow-alerts`, or the REST back-fill)."""

    id: str
    rule_id: str
    rule_name: str
    ticker: str
    option_chain: str
    option_type: OptionType
    expiry: date
    strike: Decimal
    ts_event: int  # executed_at, in ns
    ts_recv: int
    executed_at: int  # ms
    start_time: int  # ms
    end_time: int  # ms
    underlying_price: Decimal
    price: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    volume: int
    total_size: int
    total_premium: Decimal
    total_ask_side_prem: Decimal
    total_bid_side_prem: Decimal
    open_interest: int
    volume_oi_ratio: Decimal
    trade_count: int
    expiry_count: int
    has_sweep: bool
    has_floor: bool
    has_multileg: bool
    has_singleleg: bool
    all_opening_trades: bool
    ask_vol: int = 0
    bid_vol: int = 0
    no_side_vol: int = 0
    mid_vol: int = 0
    multi_vol: int = 0
    stock_multi_vol: int = 0
    url: str = ""
    trade_ids: tuple[str, ...] = ()
    upstream_condition_details: tuple[str, ...] = ()
    exchanges: tuple[str, ...] = ()
    origin: Origin = "socket"

    @property
    def otm_percent(self) -> Decimal | None:
        return _moneyness(option_type=self.option_type, strike=self.strike, underlying_price=self.underlying_price)

    def days_to_expiry(self, *, on: date) -> int:
        return (self.expiry - on).days


class MarketAgg(msgspec.Struct, frozen=True, gc=False, kw_only=True, tag="uw_market_agg"):
    """Market tide: the whole market's net call and put premium (and net volume) for one interval.
    Calls at the ask add to net call premium, calls at the bid subtract, mid prints are ignored
    (UW's definition). `id` is `market_tide:<interval>:<otm|all>:<ts_event>`: one row per interval."""

    id: str
    kind: Literal["market_tide"] = "market_tide"
    ts_event: int  # start of the interval, in ns
    ts_recv: int
    date: date
    interval: Literal["1m", "5m"]
    otm_only: bool
    net_call_premium: Decimal
    net_put_premium: Decimal
    net_volume: int
    origin: Origin = "rest"


class UnderlyingPrice(msgspec.Struct, frozen=True, gc=False, kw_only=True, tag="uw_price"):
    """`price:<TICKER>`: the underlying's last price and its day volume so far."""

    ticker: str
    ts_event: int  # ns
    ts_recv: int
    close: Decimal
    vol: int


class NewsHeadline(msgspec.Struct, frozen=True, gc=False, kw_only=True, tag="uw_news"):
    """`news`: one headline."""

    headline: str
    ts_event: int  # ns
    ts_recv: int
    source: str = ""
    tickers: tuple[str, ...] = ()
    is_trump_ts: bool = False


UWEvent = OptionTrade | FlowAlert | MarketAgg | UnderlyingPrice | NewsHeadline

_encoder = msgspec.json.Encoder(decimal_format="string")
_decoder = msgspec.json.Decoder(UWEvent)
_option_trade_decoder = msgspec.json.Decoder(OptionTrade)
_flow_alert_decoder = msgspec.json.Decoder(FlowAlert)
_market_agg_decoder = msgspec.json.Decoder(MarketAgg)


def uw_event_encode(event: UWEvent) -> bytes:
    """JSON with every Decimal as a string (exact), as stored in the hot store's `d` field."""
    return _encoder.encode(event)


def uw_event_decode(data: bytes | str) -> UWEvent:
    return _decoder.decode(data)


def option_trade_decode(data: bytes | str) -> OptionTrade:
    return _option_trade_decoder.decode(data)


def flow_alert_decode(data: bytes | str) -> FlowAlert:
    return _flow_alert_decoder.decode(data)


def market_agg_decode(data: bytes | str) -> MarketAgg:
    return _market_agg_decoder.decode(data)
