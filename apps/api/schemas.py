"""Request and response schemas of the REST API: every endpoint declares its responses, so the
OpenAPI document at /api/openapi.json is complete. Times are ISO-8601 UTC; `ts_event` is the
exchange time in integer nanoseconds where the data has it."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from apps.api.struct_schemas import struct_schema
from apps.core import keys
from apps.core.sessions import SessionKind
from apps.gex.selectors import MAX_PAGE as GEX_MAX_PAGE
from apps.gex.snapshots import GEXSnapshot
from apps.marketdata.events import FEED_CODES
from apps.marketdata.selectors import MAX_PAGE
from apps.marketdata.symbols import MONTH_CODES, ROOTS
from apps.marketdata.vendor_records import VendorGreeks, VendorSummary
from apps.storage.lake_bars import INTERVAL_NS
from apps.storage.registry import retention_categories

# Bar widths: the intervals apps/storage/lake_bars.py aggregates, named as they are written.
Interval = StrEnum("Interval", {name: name for name in INTERVAL_NS})  # type: ignore[misc]


class GEXCategory(StrEnum):
    GEX_FULL = "gex_full"
    GEX_ZERO = "gex_zero"
    GEX_ONE = "gex_one"
    FULL = "full"
    ZERO = "zero"
    ONE = "one"
    DELTA_ZERO = "delta_zero"
    GAMMA_ZERO = "gamma_zero"
    VANNA_ZERO = "vanna_zero"
    CHARM_ZERO = "charm_zero"
    DELTA_ONE = "delta_one"
    GAMMA_ONE = "gamma_one"
    VANNA_ONE = "vanna_one"
    CHARM_ONE = "charm_one"


class Out(BaseModel):
    """A response shape: a plain pydantic model, not a ninja Schema. ninja's Schema validates
    through a wrapper that looks every field of every item up by a Python call (its
    DjangoGetter, for ORM objects): for a day of 1-minute bars that was 70 % of the request's
    time (docs/benchmarks.md, REST under concurrent clients). The routers return dicts and
    plain objects, which pydantic validates directly; the OpenAPI document is the same."""

    model_config = ConfigDict(from_attributes=True)


class ErrorOut(Out):
    detail: str | list[dict[str, Any]]


# The error answers every endpoint may give: bad input (400/422, naming the field), not signed in
# (401), over the rate limit (429, with Retry-After), Redis or the broker out of reach (503).
ERRORS: dict[int, type[Out]] = {400: ErrorOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut}
NOT_FOUND: dict[int, type[Out]] = {**ERRORS, 404: ErrorOut}
STAFF_ONLY: dict[int, type[Out]] = {**NOT_FOUND, 403: ErrorOut}


class SymbolOut(Out):
    alias: str | None
    contract: str


class SymbolsOut(Out):
    symbols: list[SymbolOut]


class TradeOut(Out):
    id: str
    ts_event: int
    time: datetime
    price: float
    size: int
    side: Literal["buy", "sell", "unknown"]
    feed: str


class TradesLastOut(Out):
    symbol: str
    trades: list[TradeOut]


class TradePageOut(Out):
    symbol: str
    start: datetime = Field(description="The start of the range answered.")
    end: datetime = Field(
        description="The end of the range answered: a range longer than the endpoint's limit is cut at start + limit, "
        "so compare it with the end you asked for and ask again from here for the rest."
    )
    trades: list[TradeOut]
    next_cursor: str | None


class QuoteOut(Out):
    id: str | None
    ts_event: int
    time: datetime
    bid_price: float
    bid_size: int
    ask_price: float
    ask_size: int
    feed: str


class QuoteLatestOut(QuoteOut):
    symbol: str


class QuotePageOut(Out):
    symbol: str
    start: datetime = Field(description="The start of the range answered.")
    end: datetime = Field(
        description="The end of the range answered: a range longer than the endpoint's limit is cut at start + limit, "
        "so compare it with the end you asked for and ask again from here for the rest."
    )
    quotes: list[QuoteOut]
    next_cursor: str | None


class BookOut(Out):
    symbol: str
    feed: str
    time: datetime = Field(description="The instant the book stands at (the `at` asked for).")
    last_update: datetime | None = Field(description="When the book last changed at or before `time`, when known.")
    bids: list[tuple[float, int]]
    asks: list[tuple[float, int]]


class BookSideOut(Out):
    last_update: datetime | None
    bids: list[tuple[float, int]]
    asks: list[tuple[float, int]]


class DepthCompareOut(Out):
    symbol: str
    time: datetime
    books: dict[str, BookSideOut | None]


class BarOut(Out):
    time: datetime
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: int


class BarsOut(Out):
    symbol: str
    interval: str
    session: str = Field(description="eth (the Globex trading day) or rth (09:30-16:00 New York).")
    start: datetime = Field(description="The start of the range answered.")
    end: datetime = Field(
        description="The end of the range answered: a range longer than the endpoint's limit is cut at start + limit, "
        "so compare it with the end you asked for and ask again from here for the rest."
    )
    bars: list[BarOut]


class TradingSessionOut(Out):
    trade_date: date
    open: datetime
    close: datetime
    early_close: bool


class RollOut(Out):
    at: datetime = Field(description="When the next contract becomes the lead (the Globex open before the roll date).")
    before: str = Field(description="The lead contract until then.")
    after: str = Field(description="The lead contract from then on.")


class SessionsOut(Out):
    symbol: str = Field(description="The symbol as asked (a continuous alias such as ES, or a contract).")
    contract: str = Field(description="The contract the symbol stands for at `end`.")
    session: str
    start: datetime
    end: datetime
    sessions: list[TradingSessionOut]
    rolls: list[RollOut] = Field(description="Changes of the lead contract of an alias in the range and the next one.")


class GEXStrikeOut(Out):
    strike: float
    gex_vol: float | None = Field(description="Net GEX at the strike by volume, in the snapshot's `units`.")
    gex_oi: float | None = Field(description="Net GEX at the strike by open interest, in the snapshot's `units`.")
    priors: list[float | None] = Field(
        description="Earlier by-volume values of the strike (1, 5, 10, 15 and 30 minutes ago as the source gives"
        " them); may be shorter or empty."
    )


_STRIKES = (list[GEXStrikeOut], Field((), description="One object per strike, ascending."))
# The snapshot as the GEX sources produce it: a field added to GEXSnapshot is served at once;
# its strike rows (positional in the stream, as GEXBot sends them) are served as named objects.
GEXSnapshotOut = struct_schema(GEXSnapshot, name="GEXSnapshotOut", base=Out, strikes=_STRIKES)
GEXHistoryItemOut = struct_schema(GEXSnapshot, name="GEXHistoryItemOut", base=Out, strikes=_STRIKES, id=(str, ...))


class GEXHistoryOut(Out):
    ticker: str
    category: str
    start: datetime = Field(description="The start of the range answered.")
    end: datetime = Field(
        description="The end of the range answered: a range longer than the endpoint's limit is cut at start + limit, "
        "so compare it with the end you asked for and ask again from here for the rest."
    )
    snapshots: list[GEXHistoryItemOut]  # type: ignore[valid-type]
    next_cursor: str | None


class StreamerStatusOut(Out):
    name: str
    state: str = Field(
        description="connected, connecting, reconnecting, store_down (the hot store refuses writes: the streamer"
        " buffers), disabled, stopped, ... or not_running"
    )
    enabled: bool
    connected_since: datetime | None
    last_message: datetime | None
    rate: float | None = Field(description="Messages per second over the last second.")
    reconnects: int
    gaps: int
    store_outages: int = Field(description="Outages of the hot store the streamer buffered through (md:store_outages).")
    store_down_since: datetime | None
    updated_at: datetime | None


class FlushStatusOut(Out):
    stream: str
    last_id: str | None
    rows: int
    at: datetime | None
    pending: int
    lag_entries: int


class QueueDepthOut(Out):
    queue: str
    depth: int


class AlertOut(Out):
    id: str
    time: datetime
    rule: str | None
    symbol: str | None
    message: str | None
    fields: dict[str, str]


class StreamerControlOut(Out):
    streamer: str
    action: str
    enabled: bool | None = None
    disabled_streamers: list[str] | None = None
    request_id: str | None = None


class TaskOut(Out):
    task_id: str


def _iso_date(value: Any) -> Any:
    # A number is not a date here, though pydantic would read it as seconds since the epoch.
    if value is not None and not isinstance(value, str | date):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


def _data_types() -> list[str]:
    categories = retention_categories()
    if not categories:
        raise RuntimeError("apps.api.schemas was imported before the apps registered their lake tables")
    return categories


# The retention categories of the lake tables the apps registered (apps/storage/registry.py);
# this module is imported once the apps are ready.
DataType = StrEnum("DataType", {category.upper(): category for category in _data_types()})  # type: ignore[misc]


class PurgeIn(Schema):
    dry_run: StrictBool = Field(True, description="Only plan and record the plan; touch nothing.")
    data_type: DataType | None = Field(None, description="One data type only.")
    before: Annotated[date | None, BeforeValidator(_iso_date)] = Field(
        None, description="Remove lake partitions before this date instead of the policy's."
    )


class PurgeOut(Out):
    run_id: int
    dry_run: bool
    status: str
    plan: dict[str, Any]
    result: dict[str, Any] | None
    bytes_freed: int


# A feed's own values beside the market events: tastytrade's day Summary and option Greeks (the
# latest per symbol), Schwab's one-minute bars (CHART_FUTURES and back-filled price history).
VendorSummaryOut = struct_schema(VendorSummary, name="VendorSummaryOut", base=Out)
VendorGreeksOut = struct_schema(VendorGreeks, name="VendorGreeksOut", base=Out)


class VendorLatestOut(Out):
    symbol: str
    feed: str
    summary: VendorSummaryOut | None = Field(  # type: ignore[valid-type]
        description="The latest day summary (open, high, low, close so far, previous close and volume,"
        " open interest); null when the feed sent none."
    )
    greeks: VendorGreeksOut | None = Field(  # type: ignore[valid-type]
        description="The latest option greeks (theoretical price, implied volatility, delta, gamma, theta,"
        " rho, vega); null when the feed sent none (DXLink computes them for options only)."
    )


class VendorBarOut(Out):
    time: datetime
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class VendorBarsOut(Out):
    symbol: str
    feed: str
    start: datetime
    end: datetime
    bars: list[VendorBarOut] = Field(description="The feed's own minute bars, oldest first (the last 7 days only).")


# -- query parameters ---------------------------------------------------------------------

# The patterns below are what the handlers accept, stated in the schema so that a generated
# client is never refused a request the document allows (schemathesis's positive_data_acceptance
# checks it, tests/apps/api/test_openapi_fuzz.py).


def _any_case(text: str) -> str:
    return "".join(f"[{char.upper()}{char.lower()}]" if char.isalpha() else re.escape(char) for char in text)


_LETTER = "[A-Za-z]"
_ROOTS = "|".join(_any_case(root) for root in sorted(ROOTS, key=len, reverse=True))
_MONTH = f"[{MONTH_CODES}{MONTH_CODES.lower()}]"
# A continuous alias (ES, /ES), a contract in any feed's form (ESZ26, /ESZ6, /ESZ26:XCME,
# ESZ26_FUT_CME, ESZ26-CME), or a plain equity or index name (SPY), in any case.
SYMBOL_PATTERN = (
    rf"^(?:/?(?:{_ROOTS})(?:{_MONTH}[0-9]{{1,2}}(?::[Xx]{_LETTER}{{3}}|_[Ff][Uu][Tt]_{_LETTER}+|-{_LETTER}+)?)?"
    r"|[A-Za-z][A-Za-z0-9.]{0,9}"
    # An OCC option without its padding (AAPL251219C00200000): Schwab's option books.
    r"|[A-Za-z]{1,6}[0-9]{6}[CPcp][0-9]{8})$"
)
FEEDS = sorted(name for name in FEED_CODES if name)
FEED_PATTERN = rf"^(?:{'|'.join(FEEDS)})$"
# Two different known feeds: every ordered pair, spelled out (the pattern engine has no
# back-references to say "not the first one again").
FEED_PAIR_PATTERN = rf"^(?:{'|'.join(f'{one},{two}' for one in FEEDS for two in FEEDS if one != two)})$"
# Times start at the Unix epoch (apps/api/inputs.py refuses anything before 1970-01-02): the
# schema says years from 1971, so no offset can take a time it allows before that.
INSTANT_PATTERN = r"^(?:19[89][0-9]|197[1-9]|[2-9][0-9]{3})-"
PAGE_CURSOR_PATTERN = (
    r"^(?:[0-9]{1,18}|[1-8][0-9]{18})_(?:[0-9]{1,19}-[0-9]{1,19}(?::[0-9]{1,18})?|import:[0-9a-f]{1,64}:[0-9]{1,18})$"
)


def instant(description: str, *, required: bool = False) -> Any:
    return Field(
        ... if required else None,
        description=f"{description} From 1971 on.",
        json_schema_extra={"pattern": INSTANT_PATTERN},
    )


def range_end(limit_days: int) -> Any:
    return instant(
        f"Default: now, or start + {limit_days} days when that is earlier. A range longer than"
        f" {limit_days} days is cut at start + {limit_days} days; an end before start answers nothing."
    )


SYMBOL = Field(
    ...,
    pattern=SYMBOL_PATTERN,
    description="A contract (ESZ26, or a feed's form of it: /ESZ26:XCME) or a continuous alias (ES: the lead"
    " contract); a plain equity or index name (SPY) as it is; an OCC option without padding (AAPL251219C00200000).",
)
TICKER = Field(
    ..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", description="A GEXBot ticker: SPX, ES_SPX, NQ_NDX, ..."
)


REPLAY = Field(
    None,
    max_length=48,
    pattern=keys.REPLAY_ID_PATTERN,
    description="A replay's id (run_streamer replay prints it): answer from that replay's sandbox, with the"
    " events' original times; range defaults end at the replay's clock. Absent: the live data.",
)


class ReplayQuery(Schema):
    replay: str | None = REPLAY


class ReplayOut(Out):
    replay: str
    source: str
    symbols: list[str]
    speed: float
    state: str
    paused: bool
    clock: datetime | None
    done: int
    total: int | None
    eta_seconds: float | None
    created_at: str
    updated_at: str
    expire_seconds: int | None
    ttl_seconds: int | None


class SymbolQuery(Schema):
    symbol: str = SYMBOL
    replay: str | None = REPLAY


class TicksLastQuery(Schema):
    symbol: str = SYMBOL
    count: int = Field(100, ge=1, le=MAX_PAGE)
    replay: str | None = REPLAY


class PageQuery(Schema):
    symbol: str = SYMBOL
    start: AwareDatetime | None = instant("Default: one hour before end.")
    end: AwareDatetime | None = range_end(31)
    cursor: str | None = Field(
        None, max_length=200, pattern=PAGE_CURSOR_PATTERN, description="`next_cursor` of the previous page."
    )
    limit: int = Field(1000, ge=1, le=MAX_PAGE)
    replay: str | None = REPLAY


class BookQuery(Schema):
    symbol: str = SYMBOL
    at: AwareDatetime | None = instant("Default: now.")
    feed: str | None = Field(
        None, pattern=FEED_PATTERN, description="simulator, schwab, tastytrade, ...; default: the latest."
    )
    levels: int = Field(10, ge=1, le=100)
    replay: str | None = REPLAY


class CompareQuery(Schema):
    symbol: str = SYMBOL
    feeds: str = Field(
        ...,
        pattern=FEED_PAIR_PATTERN,
        description="Two different feeds, comma-separated, e.g. schwab,tastytrade.",
    )
    at: AwareDatetime | None = instant("Default: now.")
    levels: int = Field(10, ge=1, le=100)
    replay: str | None = REPLAY


class BarsQuery(Schema):
    symbol: str = SYMBOL
    interval: Interval = Interval("1m")
    session: SessionKind = Field(
        SessionKind.ETH,
        description="eth: bars follow the CME trading day (18:00-17:00 New York, early closes and holidays"
        " by the exchange calendar; a 1d bar starts at 18:00 the evening before). rth: only 09:30-16:00"
        " New York (13:00 on early closes), bars aligned to 09:30.",
    )
    start: AwareDatetime | None = instant("Default: one day before end.")
    end: AwareDatetime | None = instant(
        "Default: now, or the end of the range's limit when that is earlier. The range is at most 366 days"
        " and 100,000 bars of the interval: a longer one is cut at that limit; an end before start answers"
        " nothing."
    )
    replay: str | None = REPLAY


class VendorLatestQuery(Schema):
    symbol: str = SYMBOL
    feed: str = Field("tastytrade", pattern=FEED_PATTERN, description="The feed whose values to show.")


class VendorBarsQuery(Schema):
    symbol: str = SYMBOL
    feed: str = Field("schwab", pattern=FEED_PATTERN, description="The feed whose own bars to show.")
    start: AwareDatetime | None = instant("Default: one day before end.")
    end: AwareDatetime | None = range_end(7)


class SessionsQuery(Schema):
    symbol: str = SYMBOL
    session: SessionKind = SessionKind.ETH
    start: AwareDatetime | None = instant("Default: seven days before end.")
    end: AwareDatetime | None = range_end(62)


class GEXQuery(Schema):
    ticker: str = TICKER
    category: GEXCategory = GEXCategory.GEX_ZERO
    replay: str | None = REPLAY


class GEXAtQuery(GEXQuery):
    at: AwareDatetime = instant("The instant.", required=True)


class GEXHistoryQuery(GEXQuery):
    start: AwareDatetime | None = instant("Default: one day before end.")
    end: AwareDatetime | None = range_end(31)
    cursor: str | None = Field(None, pattern=r"^\d{1,20}-\d{1,20}$", description="`next_cursor` of the previous page.")
    limit: int = Field(500, ge=1, le=GEX_MAX_PAGE)


class AlertsQuery(Schema):
    count: int = Field(50, ge=1, le=1000)
