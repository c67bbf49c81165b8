"""The conditions a rule combines (all / any): typed, validated (pydantic, one discriminated
union on `kind`), and compiled once into predicates over `AlertInput`.

A condition that the rule's source cannot have (a DTE range on GEX snapshots) is refused when the
rule is compiled, naming the condition (`conditions[2].kind`), so a rule is never saved that can
never match by construction.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from apps.alerts.inputs import AlertInput
from apps.alerts.models import Source
from apps.alerts.sources import exchange_date

if TYPE_CHECKING:
    from apps.alerts.tape import Tape

Predicate = Callable[[AlertInput, "Tape"], bool]
# Dollars: a JSON number or a decimal string ("1000000", "2500.50"), kept exact. The pattern is in
# the schema so that what the schema allows is what the rule accepts.
Money = Annotated[
    Decimal,
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d{1,15}(\.\d{1,10})?$"}]}),
]
GexLevel = Literal["zero_gamma", "major_pos_vol", "major_neg_vol", "major_pos_oi", "major_neg_oi"]

_UW_OPTIONS = frozenset({Source.UW_OPTION_TRADES, Source.UW_FLOW_ALERTS})
_ALL = frozenset(Source)


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Evaluation order inside a rule (all / any give the same answer in any order): cheap tests
    # of one field first, tests that parse several fields or look things up last.
    cost: ClassVar[int] = 1
    # Whether its test reads the tape (previous values, last prices, GEX in force): the sources
    # such conditions apply to keep a tape; the others skip updating one.
    reads_tape: ClassVar[bool] = False

    # Each subclass says which sources carry what it needs and how it tests one input
    # (pydantic's model metaclass is an ABCMeta: a subclass missing one cannot be built).
    @abstractmethod
    def applies_to(self) -> frozenset[Source]: ...

    @abstractmethod
    def predicate(self) -> Predicate: ...


class PremiumAtLeast(_Condition):
    kind: Literal["premium_at_least"]
    min: Money = Field(ge=0, description="dollars; UW premium of the trade, or an alert's total premium")

    def applies_to(self) -> frozenset[Source]:
        return _UW_OPTIONS

    def predicate(self) -> Predicate:
        floor = self.min
        return lambda item, _: item.premium is not None and item.premium >= floor


class TickerIn(_Condition):
    kind: Literal["ticker_in"]
    tickers: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(min_length=1, max_length=1000)

    @field_validator("tickers")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        cleaned = [ticker.strip().upper() for ticker in value]
        if any(not ticker for ticker in cleaned):
            raise ValueError("a ticker is empty")
        return cleaned

    def applies_to(self) -> frozenset[Source]:
        return _ALL

    def predicate(self) -> Predicate:
        wanted = frozenset(self.tickers)
        return lambda item, _: item.symbol in wanted


class OptionType(_Condition):
    kind: Literal["option_type"]
    type: Literal["call", "put"]

    def applies_to(self) -> frozenset[Source]:
        return _UW_OPTIONS

    def predicate(self) -> Predicate:
        wanted = self.type
        return lambda item, _: item.option_type == wanted


class SideIs(_Condition):
    kind: Literal["side"]
    side: Literal["ask", "bid"] = Field(description="ask: bought at the offer (a trade's buyer aggressed)")

    def applies_to(self) -> frozenset[Source]:
        return _UW_OPTIONS | {Source.MD_TRADES}

    def predicate(self) -> Predicate:
        wanted = self.side
        return lambda item, _: item.side == wanted


class DteBetween(_Condition):
    cost: ClassVar[int] = 2

    kind: Literal["dte"]
    min: StrictInt = Field(default=0, ge=0, le=3650)
    max: StrictInt | None = Field(default=None, ge=0, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> DteBetween:
        if self.max is not None and self.max < self.min:
            raise ValueError("max must be at least min")
        return self

    def applies_to(self) -> frozenset[Source]:
        return _UW_OPTIONS

    def predicate(self) -> Predicate:
        low, high = self.min, self.max

        def test(item: AlertInput, _: Tape) -> bool:
            if item.expiry is None:
                return False
            dte = (item.expiry - exchange_date(item.ts_ns)).days
            return dte >= low and (high is None or dte <= high)

        return test


class Flag(_Condition):
    kind: Literal["flag"]
    flag: Literal["sweep", "multileg", "opening"]
    value: StrictBool = True

    def applies_to(self) -> frozenset[Source]:
        return _UW_OPTIONS

    def predicate(self) -> Predicate:
        name, wanted = self.flag, self.value
        return lambda item, _: getattr(item, name) is wanted


class OtmPercent(_Condition):
    cost: ClassVar[int] = 2

    kind: Literal["otm_percent"]
    min: StrictFloat | None = Field(
        default=None, ge=-1000, le=1000, description="percent out of the money; negative is in the money"
    )
    max: StrictFloat | None = Field(default=None, ge=-1000, le=1000)

    @model_validator(mode="after")
    def _bounded(self) -> OtmPercent:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("max must be at least min")
        return self

    def applies_to(self) -> frozenset[Source]:
        return _UW_OPTIONS

    def predicate(self) -> Predicate:
        low, high = self.min, self.max

        def test(item: AlertInput, _: Tape) -> bool:
            spot, strike = item.underlying_price, item.strike
            if not spot or strike is None or item.option_type is None:
                return False
            otm = (strike - spot if item.option_type == "call" else spot - strike) / spot * 100
            return (low is None or otm >= low) and (high is None or otm <= high)

        return test


class VolumeOiRatio(_Condition):
    cost: ClassVar[int] = 2

    kind: Literal["volume_oi_ratio"]
    min: StrictFloat = Field(gt=0, le=1e9)

    def applies_to(self) -> frozenset[Source]:
        return _UW_OPTIONS

    def predicate(self) -> Predicate:
        floor = self.min

        def test(item: AlertInput, _: Tape) -> bool:
            if item.volume is None or not item.open_interest:
                return False
            return item.volume / item.open_interest >= floor

        return test


class GexCross(_Condition):
    cost: ClassVar[int] = 3
    reads_tape: ClassVar[bool] = True

    """The price crosses a GEX level: a trade's (or a closed bar's) price against the level of
    the snapshot in force when it printed; a GEX snapshot's spot against its own level."""

    kind: Literal["gex_cross"]
    level: GexLevel = "zero_gamma"
    direction: Literal["up", "down", "either"] = "either"
    gex_ticker: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9][A-Z0-9._-]{0,31}$",
        description="the GEX ticker whose levels a trade is held against (ES_SPX, SPX, ...); default: its symbol",
    )
    category: str = Field(default="gex_full", pattern=r"^[a-z0-9_]{1,32}$")

    def applies_to(self) -> frozenset[Source]:
        return frozenset({Source.MD_TRADES, Source.MD_BARS, Source.GEX_SNAPSHOTS})

    def predicate(self) -> Predicate:
        level_name, direction = self.level, self.direction
        ticker, category = self.gex_ticker, self.category

        def test(item: AlertInput, tape: Tape) -> bool:
            previous = tape.previous_price(item)
            if previous is None or item.price is None:
                return False
            if item.gex is not None:
                level = getattr(item.gex, level_name)
            else:
                snapshot = tape.gex_in_force(ticker=ticker or item.symbol, category=category, ts_ns=item.ts_ns)
                level = getattr(snapshot, level_name) if snapshot is not None else None
            if level is None:
                return False
            up = previous < level <= item.price
            down = previous > level >= item.price
            return up if direction == "up" else down if direction == "down" else up or down

        return test


class FeedLeg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    symbol: str = Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
    feed: str = Field(
        default="",
        pattern=r"^[a-z0-9_-]{0,32}$",
        description="the feed's name (schwab, tastytrade, ...); empty: any feed",
    )


class FeedSpread(_Condition):
    cost: ClassVar[int] = 3
    reads_tape: ClassVar[bool] = True

    """The last prices of two legs (a symbol on a feed each) differ by at least `min`."""

    kind: Literal["feed_spread"]
    a: FeedLeg
    b: FeedLeg
    min: StrictFloat = Field(gt=0, le=1e9)

    def applies_to(self) -> frozenset[Source]:
        return frozenset({Source.MD_TRADES})

    def predicate(self) -> Predicate:
        a, b, floor = (self.a.symbol, self.a.feed), (self.b.symbol, self.b.feed), self.min

        def leg_price(leg: tuple[str, str], item: AlertInput, tape: Tape) -> float | None:
            # The input's own price counts for its leg: the tape learns it after evaluation.
            if item.symbol == leg[0] and (not leg[1] or item.feed == leg[1]):
                return item.price
            return tape.last_price(*leg)

        def test(item: AlertInput, tape: Tape) -> bool:
            if (item.symbol, item.feed) not in (a, b) and (item.symbol, "") not in (a, b):
                return False
            price_a, price_b = leg_price(a, item, tape), leg_price(b, item, tape)
            return price_a is not None and price_b is not None and abs(price_a - price_b) >= floor

        return test


class GexLevelChange(_Condition):
    cost: ClassVar[int] = 3
    reads_tape: ClassVar[bool] = True

    """A level moved by at least `min_change` since the previous snapshot of the same ticker,
    package and category."""

    kind: Literal["gex_level_change"]
    level: GexLevel = "zero_gamma"
    min_change: StrictFloat = Field(gt=0, le=1e9)

    def applies_to(self) -> frozenset[Source]:
        return frozenset({Source.GEX_SNAPSHOTS})

    def predicate(self) -> Predicate:
        level_name, floor = self.level, self.min_change

        def test(item: AlertInput, tape: Tape) -> bool:
            previous = tape.previous_gex(item)
            if previous is None or item.gex is None:
                return False
            before, now = getattr(previous, level_name), getattr(item.gex, level_name)
            return before is not None and now is not None and abs(now - before) >= floor

        return test


class NetPremium(_Condition):
    """Market tide: net call premium, net put premium, or calls minus puts, against bounds."""

    kind: Literal["net_premium"]
    of: Literal["call", "put", "call_minus_put"] = "call_minus_put"
    min: Money | None = None
    max: Money | None = None

    @model_validator(mode="after")
    def _bounded(self) -> NetPremium:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self

    def applies_to(self) -> frozenset[Source]:
        return frozenset({Source.UW_MARKET_TIDE})

    def predicate(self) -> Predicate:
        of, low, high = self.of, self.min, self.max

        def test(item: AlertInput, _: Tape) -> bool:
            call, put = item.net_call_premium, item.net_put_premium
            if call is None or put is None:
                return False
            value = call if of == "call" else put if of == "put" else call - put
            return (low is None or value >= low) and (high is None or value <= high)

        return test


Condition = Annotated[
    PremiumAtLeast
    | TickerIn
    | OptionType
    | SideIs
    | DteBetween
    | Flag
    | OtmPercent
    | VolumeOiRatio
    | GexCross
    | FeedSpread
    | GexLevelChange
    | NetPremium,
    Field(discriminator="kind"),
]
CONDITION_KINDS = (
    "premium_at_least",
    "ticker_in",
    "option_type",
    "side",
    "dte",
    "flag",
    "otm_percent",
    "volume_oi_ratio",
    "gex_cross",
    "feed_spread",
    "gex_level_change",
    "net_premium",
)


def tape_sources() -> frozenset[Source]:
    """The sources a condition that reads the tape applies to."""
    return _TAPE_SOURCES


_TAPE_SOURCES = frozenset(
    source for kind in _Condition.__subclasses__() if kind.reads_tape for source in kind.model_construct().applies_to()
)
