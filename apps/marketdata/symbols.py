"""Canonical symbols for CME equity-index futures, the continuous alias, and each feed's form.

Canonical: root + month code + two-digit year (`ESZ25`). The continuous alias (`ES`) resolves to
the lead contract by CME's roll convention: roll eight calendar days before the third-Friday
expiry, the new lead trading from the Globex session that opens at 18:00 New York time on the
evening before the roll date. When the third Friday is an exchange holiday (Juneteenth,
2026-06-19), the last trading day moves to the business day before; the roll date stays
anchored on the third Friday (CME publishes it that way: "eight calendar days before").

Feed forms of ESZ25: `/ESZ25` (Schwab), `/ESZ5` (tastytrade REST), `/ESZ25:XCME` (DXLink),
`ESZ25_FUT_CME` and `ESZ25-CME` (Sierra Chart), `ESZ5` (one-digit year). Facts:
shared/reference/gex_scid.md section 5.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from apps.core.clock import EXCHANGE_TZ, ensure_utc, to_exchange, utc_now
from apps.core.sessions import is_holiday

MONTH_CODES = "FGHJKMNQUVXZ"
QUARTERLY = "HMUZ"
# Root -> exchange (DXLink suffix, Sierra Chart suffix).
ROOTS: dict[str, tuple[str, str]] = {
    "ES": ("XCME", "CME"),
    "MES": ("XCME", "CME"),
    "NQ": ("XCME", "CME"),
    "MNQ": ("XCME", "CME"),
    "RTY": ("XCME", "CME"),
    "M2K": ("XCME", "CME"),
    "YM": ("XCBT", "CBOT"),
    "MYM": ("XCBT", "CBOT"),
}
_ROOT_ALT = "|".join(sorted(ROOTS, key=len, reverse=True))
_FUTURE = re.compile(
    rf"^/?(?P<root>{_ROOT_ALT})(?P<month>[{MONTH_CODES}])(?P<year>\d{{1,2}})"
    r"(?::(?P<mic>X[A-Z]{3})|_FUT_(?P<sc>[A-Z]+)|-(?P<dtc>[A-Z]+))?$"
)
_PLAIN = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
# An OCC option: root (1-6 letters), expiry YYMMDD, C or P, strike x 1000 in 8 digits. Schwab pads
# the root to six with spaces (`AAPL  251219C00200000`); the canonical form drops the padding.
_OCC_OPTION = re.compile(r"^(?P<root>[A-Z]{1,6}) *(?P<rest>[0-9]{6}[CP][0-9]{8})$")
# What a stored symbol may look like (the key builder's form, apps/core/keys.py): a contract code
# or a ticker such as SPX or GEXBot's ES_SPX. It becomes a directory name in the lake.
_STORED = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")


class Venue(StrEnum):
    CANONICAL = "canonical"
    SCHWAB = "schwab"
    TASTYTRADE = "tastytrade"
    DXLINK = "dxlink"
    SIERRA = "sierra"
    SIERRA_DTC = "sierra_dtc"


class SymbolError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Contract:
    root: str
    year: int
    month: int

    @property
    def code(self) -> str:
        return f"{self.root}{MONTH_CODES[self.month - 1]}{self.year % 100:02d}"

    def __str__(self) -> str:
        return self.code


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 15)
    return first + timedelta(days=(4 - first.weekday()) % 7)


def last_trading_day(contract: Contract, *, holiday: Callable[[date], bool] = is_holiday) -> date:
    """The third Friday, or the business day before it when the exchange is closed that day."""
    day = third_friday(contract.year, contract.month)
    while holiday(day) or day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def roll_date(contract: Contract) -> date:
    return third_friday(contract.year, contract.month) - timedelta(days=8)


def roll_moment(contract: Contract) -> datetime:
    """When the next contract becomes the lead: the Globex open (18:00 New York) of the roll
    date's trade date, i.e. the evening before the roll date."""
    evening = roll_date(contract) - timedelta(days=1)
    return datetime.combine(evening, time(18, 0), tzinfo=EXCHANGE_TZ)


def _quarterly_from(year: int, month: int) -> Contract:
    for offset in range(12):
        y, m = divmod(month - 1 + offset, 12)
        if MONTH_CODES[m] in QUARTERLY:
            return Contract("", year + y, m + 1)
    raise AssertionError("unreachable: a quarterly month is within 12 months")


def lead_contract(root: str, at: datetime) -> Contract:
    """The lead (front by the roll convention) quarterly contract of `root` at instant `at`."""
    if root not in ROOTS:
        raise SymbolError(f"unknown futures root {root!r}; known: {', '.join(sorted(ROOTS))}")
    local = to_exchange(at)
    candidate = _quarterly_from(local.year, local.month)
    contract = Contract(root, candidate.year, candidate.month)
    while ensure_utc(at) >= roll_moment(contract):
        nxt = _quarterly_from(contract.year + (contract.month // 12), contract.month % 12 + 1)
        contract = Contract(root, nxt.year, nxt.month)
    return contract


def _full_year(digits: str, reference: date) -> int:
    if len(digits) == 2:
        return 2000 + int(digits)
    # One digit: the year ending in it from last year up to eight years ahead.
    start = reference.year - 1
    for year in range(start, start + 10):
        if year % 10 == int(digits):
            return year
    raise AssertionError("unreachable")


def parse_contract(symbol: str, *, reference: date | None = None) -> Contract:
    """A contract from any supported feed form; SymbolError naming the symbol otherwise."""
    match = _FUTURE.match(symbol.strip().upper())
    if not match:
        raise SymbolError(
            f"{symbol!r} is not a futures contract symbol (e.g. ESZ25, /ESZ25, /ESZ25:XCME, ESZ25_FUT_CME)"
        )
    reference = reference or to_exchange(utc_now()).date()  # only the decade matters
    month = MONTH_CODES.index(match["month"]) + 1
    return Contract(match["root"], _full_year(match["year"], reference), month)


def canonical(symbol: str, *, at: datetime) -> str:
    """The canonical symbol for any feed form or continuous alias, as of instant `at`.

    `ES` -> the lead contract; `/ESZ25:XCME` -> `ESZ25`; an equity or index ticker (`SPY`,
    `SPX`) is returned as it is; an OCC option without its padding (`AAPL  251219C00200000` ->
    `AAPL251219C00200000`).
    """
    raw = symbol.strip().upper()
    alias = raw.lstrip("/")
    if alias in ROOTS:
        return lead_contract(alias, at).code
    option = _OCC_OPTION.match(raw)
    if option:
        return option["root"] + option["rest"]
    try:
        return parse_contract(raw, reference=to_exchange(at).date()).code
    except SymbolError:
        if _PLAIN.match(raw):
            return raw
        raise


def canonical_check(symbol: str) -> str:
    """`symbol` unchanged when it is already in canonical form, SymbolError naming it otherwise.

    Canonical: a contract code (`ESZ25`, never a feed form such as `/ESZ25` or `ESZ5`) or a
    ticker of upper-case letters, digits, '.', '_' and '-' (`SPX`, GEXBot's `ES_SPX`, and `ES`
    as a GEX ticker). A continuous alias stands for different contracts at different times, so
    writers of market data resolve it first (`canonical(raw, at=...)`)."""
    if not _STORED.match(symbol) or ".." in symbol:
        raise SymbolError(
            f"symbol {symbol!r} is not canonical: use upper-case letters, digits, '.', '_' or '-' (e.g. ESZ25, SPX)"
        )
    match = _FUTURE.match(symbol)
    if match and (len(match["year"]) != 2 or match["mic"] or match["sc"] or match["dtc"]):
        raise SymbolError(f"symbol {symbol!r} is a feed form, not canonical: store the contract code (e.g. ESZ25)")
    return symbol


def occ_option(symbol: str) -> tuple[str, str] | None:
    """(root, `YYMMDD` + C/P + strike) of an OCC option symbol in either form, else None."""
    option = _OCC_OPTION.match(symbol.strip().upper())
    return None if option is None else (option["root"], option["rest"])


def to_schwab_option(symbol: str) -> str:
    """Schwab's key for an OCC option: the root padded to six (`AAPL  251219C00200000`)."""
    parts = occ_option(symbol)
    if parts is None:
        raise SymbolError(f"{symbol!r} is not an OCC option symbol (e.g. AAPL251219C00200000)")
    return f"{parts[0]:<6}{parts[1]}"


def to_venue(symbol: str, venue: Venue, *, at: datetime | None = None) -> str:
    """The form a venue expects for a canonical futures symbol (or an alias, resolved at `at`)."""
    reference = at or utc_now()
    contract = parse_contract(canonical(symbol, at=reference), reference=to_exchange(reference).date())
    mic, sierra = ROOTS[contract.root]
    month = MONTH_CODES[contract.month - 1]
    yy, y = f"{contract.year % 100:02d}", str(contract.year % 10)
    forms = {
        Venue.CANONICAL: contract.code,
        Venue.SCHWAB: f"/{contract.root}{month}{yy}",
        Venue.TASTYTRADE: f"/{contract.root}{month}{y}",
        Venue.DXLINK: f"/{contract.root}{month}{yy}:{mic}",
        Venue.SIERRA: f"{contract.root}{month}{yy}_FUT_{sierra}",
        Venue.SIERRA_DTC: f"{contract.root}{month}{yy}-{sierra}",
    }
    return forms[venue]


@dataclass(frozen=True)
class Roll:
    at: datetime
    before: str
    after: str


def rolls_between(root: str, *, start: datetime, end: datetime) -> list[Roll]:
    """The lead changes of `root` in [start, end], then the next one after `end`."""
    contract = lead_contract(root, start)
    rolls: list[Roll] = []
    while True:
        at = roll_moment(contract)
        following = lead_contract(root, at)
        rolls.append(Roll(at=at.astimezone(UTC), before=contract.code, after=following.code))
        if at > end:
            return rolls
        contract = following
