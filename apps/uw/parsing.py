"""UW payloads -> UW events. Pure: the bytes of one payload in, one typed event out.

A payload is decoded straight from its JSON text (a `msgspec.Raw` cut out of the frame), so a
JSON number stays exactly the number that was written: `415.981` becomes `Decimal("415.981")`,
never a float first. Fields UW sends as strings must be strings: a number there is refused
(`wrong_type`), as are a missing field (`missing_field`) and a value that is not a number
(`bad_number`). Every refusal is a `PayloadError` naming its kind and the JSON path.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from apps.uw.events import FlowAlert, MarketAgg, NewsHeadline, OptionTrade, Origin, UnderlyingPrice

NS_PER_MS = 1_000_000
# Money and prices land in the lake as decimal128(38, 10): a value with more places would be
# cut, so it is refused here, at the edge, where the raw payload is still at hand.
MONEY_PLACES = 10
_OCC = re.compile(r"^(?P<root>[A-Z0-9.]{1,6})(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2})(?P<cp>[CP])(?P<strike>\d{8})$")
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")


class PayloadError(ValueError):
    """A payload that cannot become an event. `kind` groups refusals for counting and logs."""

    def __init__(self, kind: str, reason: str, location: str = "$") -> None:
        super().__init__(f"{kind}: {reason} at {location}")
        self.kind = kind
        self.reason = reason
        self.location = location


class _WireOptionTrade(msgspec.Struct, gc=False):
    id: str
    underlying_symbol: str
    option_symbol: str
    option_type: str
    expiry: str
    strike: str
    executed_at: int
    created_at: int
    price: str
    size: int
    premium: str
    nbbo_bid: str
    nbbo_ask: str
    underlying_price: str
    volume: int
    open_interest: int
    ewma_nbbo_bid: str | None = None
    ewma_nbbo_ask: str | None = None
    implied_volatility: str | None = None
    delta: str | None = None
    gamma: str | None = None
    theta: str | None = None
    vega: str | None = None
    rho: str | None = None
    theo: str | None = None
    trade_code: str | None = None
    exchange: str | None = None
    tags: list[str] = []
    report_flags: list[str] = []
    ask_vol: int = 0
    bid_vol: int = 0
    no_side_vol: int = 0
    mid_vol: int = 0
    multi_vol: int = 0
    stock_multi_vol: int = 0


class _WireFlowAlert(msgspec.Struct, gc=False):
    id: str
    rule_id: str
    rule_name: str
    ticker: str
    option_chain: str
    executed_at: int
    start_time: int
    end_time: int
    # UW sends these as JSON numbers; decoded from their text, so exact.
    underlying_price: Decimal
    price: Decimal
    total_premium: Decimal
    total_ask_side_prem: Decimal
    total_bid_side_prem: Decimal
    volume_oi_ratio: Decimal
    volume: int
    total_size: int
    open_interest: int
    trade_count: int
    expiry_count: int
    has_sweep: bool
    has_floor: bool
    has_multileg: bool
    has_singleleg: bool
    all_opening_trades: bool
    bid: str | None = None
    ask: str | None = None
    ask_vol: int = 0
    bid_vol: int = 0
    no_side_vol: int = 0
    mid_vol: int = 0
    multi_vol: int = 0
    stock_multi_vol: int = 0
    url: str | None = None
    trade_ids: list[str] = []
    upstream_condition_details: list[str] = []
    exchanges: list[str] = []


class _WireMarketTide(msgspec.Struct, gc=False):
    timestamp: str
    net_call_premium: str
    net_put_premium: str
    net_volume: int
    date: str | None = None


class _WirePrice(msgspec.Struct, gc=False):
    close: str
    time: int
    vol: int = 0


class _WireNews(msgspec.Struct, gc=False):
    headline: str
    timestamp: str
    source: str = ""
    tickers: list[str] = []
    is_trump_ts: bool = False


_decoders: dict[type, msgspec.json.Decoder[Any]] = {
    wire: msgspec.json.Decoder(wire)
    for wire in (_WireOptionTrade, _WireFlowAlert, _WireMarketTide, _WirePrice, _WireNews)
}


def _decode(raw: bytes | str, wire: type[Any]) -> Any:
    try:
        return _decoders[wire].decode(raw)
    except msgspec.ValidationError as error:
        message = str(error)
        reason, _, where = message.partition(" - at `")
        location = where.rstrip("`") or "$"
        missing = _MISSING.search(reason)
        if missing:
            return _raise("missing_field", f"missing field {missing['field']!r}", f"{location}.{missing['field']}")
        return _raise("wrong_type", reason, location)
    except msgspec.DecodeError as error:
        return _raise("invalid_json", str(error), "$")


def _raise(kind: str, reason: str, location: str) -> Any:
    raise PayloadError(kind, reason, location)


def _decimal(value: str, field: str, *, money: bool = True) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise PayloadError("bad_number", f"{field} {value!r} is not a number", f"$.{field}") from None
    if not number.is_finite():
        raise PayloadError("bad_number", f"{field} {value!r} is not a finite number", f"$.{field}")
    if money and not _fits_money(number):
        raise PayloadError("bad_number", f"{field} {value!r} has more than {MONEY_PLACES} decimal places", f"$.{field}")
    return number


def _fits_money(number: Decimal) -> bool:
    """At most MONEY_PLACES significant decimal places (trailing zeros do not count)."""
    exponent = number.normalize().as_tuple().exponent
    return not isinstance(exponent, int) or exponent >= -MONEY_PLACES


def _optional_decimal(value: str | None, field: str, *, money: bool = False) -> Decimal | None:
    # UW leaves model values empty ("") when it has none.
    if value is None or value == "":
        return None
    return _decimal(value, field, money=money)


def _money(value: Decimal, field: str) -> Decimal:
    return _decimal(str(value), field)


def _expiry(value: str, field: str = "expiry") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PayloadError("bad_date", f"{field} {value!r} is not a date (YYYY-MM-DD)", f"$.{field}") from None


def _option_type(value: str) -> str:
    if value not in ("call", "put"):
        raise PayloadError("bad_option_type", f"option_type {value!r} is neither 'call' nor 'put'", "$.option_type")
    return value


def occ_symbol_parse(symbol: str) -> tuple[str, date, str, Decimal]:
    """`DIA241018C00415000` -> ("DIA", 2024-10-18, "call", Decimal("415")): root, expiry, type and
    strike of an OCC option symbol (strike in thousandths)."""
    match = _OCC.match(symbol)
    if match is None:
        raise PayloadError("bad_option_symbol", f"{symbol!r} is not an OCC option symbol", "$.option_chain")
    try:
        expiry = date(2000 + int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        raise PayloadError("bad_option_symbol", f"{symbol!r} has no valid expiry date", "$.option_chain") from None
    strike = Decimal(int(match["strike"])).scaleb(-3).normalize()
    return match["root"], expiry, "call" if match["cp"] == "C" else "put", strike


def option_trade_parse(raw: bytes | str, *, ts_recv: int, origin: Origin = "socket") -> OptionTrade:
    wire: _WireOptionTrade = _decode(raw, _WireOptionTrade)
    return OptionTrade(
        id=wire.id,
        underlying_symbol=wire.underlying_symbol,
        option_symbol=wire.option_symbol,
        option_type=_option_type(wire.option_type),  # type: ignore[arg-type]
        expiry=_expiry(wire.expiry),
        strike=_decimal(wire.strike, "strike"),
        ts_event=wire.executed_at * NS_PER_MS,
        ts_recv=ts_recv,
        executed_at=wire.executed_at,
        created_at=wire.created_at,
        price=_decimal(wire.price, "price"),
        size=wire.size,
        premium=_decimal(wire.premium, "premium"),
        nbbo_bid=_decimal(wire.nbbo_bid, "nbbo_bid"),
        nbbo_ask=_decimal(wire.nbbo_ask, "nbbo_ask"),
        ewma_nbbo_bid=_optional_decimal(wire.ewma_nbbo_bid, "ewma_nbbo_bid", money=True),
        ewma_nbbo_ask=_optional_decimal(wire.ewma_nbbo_ask, "ewma_nbbo_ask", money=True),
        underlying_price=_decimal(wire.underlying_price, "underlying_price"),
        volume=wire.volume,
        open_interest=wire.open_interest,
        implied_volatility=_optional_decimal(wire.implied_volatility, "implied_volatility"),
        delta=_optional_decimal(wire.delta, "delta"),
        gamma=_optional_decimal(wire.gamma, "gamma"),
        theta=_optional_decimal(wire.theta, "theta"),
        vega=_optional_decimal(wire.vega, "vega"),
        rho=_optional_decimal(wire.rho, "rho"),
        theo=_optional_decimal(wire.theo, "theo", money=True),
        trade_code=wire.trade_code or "",
        exchange=wire.exchange or "",
        tags=tuple(wire.tags),
        report_flags=tuple(wire.report_flags),
        ask_vol=wire.ask_vol,
        bid_vol=wire.bid_vol,
        no_side_vol=wire.no_side_vol,
        mid_vol=wire.mid_vol,
        multi_vol=wire.multi_vol,
        stock_multi_vol=wire.stock_multi_vol,
        origin=origin,
    )


def flow_alert_parse(raw: bytes | str, *, ts_recv: int, origin: Origin = "socket") -> FlowAlert:
    wire: _WireFlowAlert = _decode(raw, _WireFlowAlert)
    _, expiry, option_type, strike = occ_symbol_parse(wire.option_chain)
    return FlowAlert(
        id=wire.id,
        rule_id=wire.rule_id,
        rule_name=wire.rule_name,
        ticker=wire.ticker,
        option_chain=wire.option_chain,
        option_type=option_type,  # type: ignore[arg-type]
        expiry=expiry,
        strike=strike,
        ts_event=wire.executed_at * NS_PER_MS,
        ts_recv=ts_recv,
        executed_at=wire.executed_at,
        start_time=wire.start_time,
        end_time=wire.end_time,
        underlying_price=_money(wire.underlying_price, "underlying_price"),
        price=_money(wire.price, "price"),
        bid=_optional_decimal(wire.bid, "bid", money=True),
        ask=_optional_decimal(wire.ask, "ask", money=True),
        volume=wire.volume,
        total_size=wire.total_size,
        total_premium=_money(wire.total_premium, "total_premium"),
        total_ask_side_prem=_money(wire.total_ask_side_prem, "total_ask_side_prem"),
        total_bid_side_prem=_money(wire.total_bid_side_prem, "total_bid_side_prem"),
        open_interest=wire.open_interest,
        volume_oi_ratio=wire.volume_oi_ratio,
        trade_count=wire.trade_count,
        expiry_count=wire.expiry_count,
        has_sweep=wire.has_sweep,
        has_floor=wire.has_floor,
        has_multileg=wire.has_multileg,
        has_singleleg=wire.has_singleleg,
        all_opening_trades=wire.all_opening_trades,
        ask_vol=wire.ask_vol,
        bid_vol=wire.bid_vol,
        no_side_vol=wire.no_side_vol,
        mid_vol=wire.mid_vol,
        multi_vol=wire.multi_vol,
        stock_multi_vol=wire.stock_multi_vol,
        url=wire.url or "",
        trade_ids=tuple(wire.trade_ids),
        upstream_condition_details=tuple(wire.upstream_condition_details),
        exchanges=tuple(wire.exchanges),
        origin=origin,
    )


def _instant(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError("bad_date", f"{field} {value!r} is not an ISO 8601 time", f"$.{field}") from None
    if moment.tzinfo is None:
        raise PayloadError("bad_date", f"{field} {value!r} has no UTC offset", f"$.{field}")
    return moment.astimezone(UTC)


def market_tide_id(*, interval: str, otm_only: bool, ts_event: int) -> str:
    return f"market_tide:{interval}:{'otm' if otm_only else 'all'}:{ts_event}"


def market_tide_parse(
    raw: bytes | str, *, ts_recv: int, interval: str = "1m", otm_only: bool = False, origin: Origin = "rest"
) -> MarketAgg:
    """One market-tide row (`GET /api/market/market-tide`, or the socket if it carries one)."""
    wire: _WireMarketTide = _decode(raw, _WireMarketTide)
    moment = _instant(wire.timestamp, "timestamp")
    ts_event = int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
    day = _expiry(wire.date, "date") if wire.date else moment.date()
    return MarketAgg(
        id=market_tide_id(interval=interval, otm_only=otm_only, ts_event=ts_event),
        ts_event=ts_event,
        ts_recv=ts_recv,
        date=day,
        interval=interval,  # type: ignore[arg-type]
        otm_only=otm_only,
        net_call_premium=_decimal(wire.net_call_premium, "net_call_premium"),
        net_put_premium=_decimal(wire.net_put_premium, "net_put_premium"),
        net_volume=wire.net_volume,
        origin=origin,
    )


def price_parse(raw: bytes | str, *, ticker: str, ts_recv: int) -> UnderlyingPrice:
    wire: _WirePrice = _decode(raw, _WirePrice)
    return UnderlyingPrice(
        ticker=ticker,
        ts_event=wire.time * NS_PER_MS,
        ts_recv=ts_recv,
        close=_decimal(wire.close, "close"),
        vol=wire.vol,
    )


def news_parse(raw: bytes | str, *, ts_recv: int) -> NewsHeadline:
    wire: _WireNews = _decode(raw, _WireNews)
    moment = _instant(wire.timestamp, "timestamp")
    return NewsHeadline(
        headline=wire.headline,
        ts_event=int(moment.timestamp() * 1_000_000) * 1000,
        ts_recv=ts_recv,
        source=wire.source,
        tickers=tuple(wire.tickers),
        is_trump_ts=wire.is_trump_ts,
    )
