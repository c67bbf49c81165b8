"""Option chains for the local GEX calculator: typed contract rows, the chain around one
underlying, the contract multiplier of each product, and a deterministic synthetic chain for the
demo and tests.

Multipliers (shared/reference/gex_scid.md §2.1): 100 for SPX/SPY/QQQ/NDX options (and the
SPXW/NDXP series and GEXBot's ES_SPX/NQ_NDX cash-index proxies), 50 for options on ES, 20 for
options on NQ. Any other ticker is an error: a wrong multiplier scales every level silently.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from apps.core.clock import ensure_utc, to_exchange
from apps.core.sessions import is_trading_day
from apps.marketdata.symbols import SymbolError, parse_contract, third_friday

# New York: PM-settled index options and options on ES/NQ stop trading at 16:00.
EXPIRY_TIME = time(16, 0)


def first_live_expiry(as_of: datetime) -> date:
    """The earliest expiry date still alive at `as_of`: today's until 16:00 New York, then tomorrow's."""
    local = to_exchange(as_of)
    return local.date() if local.time() < EXPIRY_TIME else local.date() + timedelta(days=1)


class ChainError(ValueError):
    """An option chain or ticker the calculator cannot use; the message names the field or ticker."""


class OptionType(StrEnum):
    CALL = "call"
    PUT = "put"


@dataclass(frozen=True, slots=True)
class OptionContract:
    """One listed option: open interest is the start-of-day count, volume today's cumulative count."""

    strike: float
    expiry: date
    option_type: OptionType
    open_interest: int
    volume: int
    iv: float


class ChainArrays(NamedTuple):
    """The chain's rows as columns, for the vectorized calculator."""

    strike: np.ndarray  # float64
    expiry: np.ndarray  # datetime64[D]
    is_call: np.ndarray  # bool
    open_interest: np.ndarray  # float64
    volume: np.ndarray  # float64
    iv: np.ndarray  # float64


@dataclass(frozen=True)
class OptionChain:
    """All listed options of one underlying at one instant (`as_of`, timezone-aware)."""

    ticker: str
    spot: float
    as_of: datetime
    rows: tuple[OptionContract, ...]
    multiplier: float
    arrays: ChainArrays = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", ensure_utc(self.as_of))
        if not (np.isfinite(self.spot) and self.spot > 0):
            raise ChainError(f"chain {self.ticker}: spot {self.spot!r} must be a positive number")
        if not (np.isfinite(self.multiplier) and self.multiplier > 0):
            raise ChainError(f"chain {self.ticker}: multiplier {self.multiplier!r} must be a positive number")
        rows = self.rows
        arrays = ChainArrays(
            strike=np.fromiter((row.strike for row in rows), dtype=np.float64, count=len(rows)),
            expiry=np.array([row.expiry for row in rows], dtype="datetime64[D]"),
            is_call=np.fromiter((row.option_type is OptionType.CALL for row in rows), dtype=bool, count=len(rows)),
            open_interest=np.fromiter((row.open_interest for row in rows), dtype=np.float64, count=len(rows)),
            volume=np.fromiter((row.volume for row in rows), dtype=np.float64, count=len(rows)),
            iv=np.fromiter((row.iv for row in rows), dtype=np.float64, count=len(rows)),
        )
        # Strikes must be > 0; counts and IV >= 0 (an IV of 0 means "no quote": zero gamma).
        for name, values, valid in (
            ("strike", arrays.strike, arrays.strike > 0),
            ("open_interest", arrays.open_interest, arrays.open_interest >= 0),
            ("volume", arrays.volume, arrays.volume >= 0),
            ("iv", arrays.iv, arrays.iv >= 0),
        ):
            bad = np.flatnonzero(~(np.isfinite(values) & valid))
            if bad.size:
                index = int(bad[0])
                raise ChainError(
                    f"chain {self.ticker}: row {index} ({rows[index].option_type} {rows[index].strike} "
                    f"{rows[index].expiry}) has invalid {name} {values[index]!r}"
                )
        object.__setattr__(self, "arrays", arrays)

    @property
    def trade_date(self) -> date:
        """The New York calendar date of `as_of` (days to expiry count from it)."""
        return to_exchange(self.as_of).date()

    @property
    def first_live_expiry(self) -> date:
        """Options expiring before this date are gone (today's expire at 16:00 New York)."""
        return first_live_expiry(self.as_of)

    def expiries(self) -> tuple[date, ...]:
        """Expiry dates still alive at `as_of`, nearest first."""
        return tuple(sorted({row.expiry for row in self.rows if row.expiry >= self.first_live_expiry}))

    def with_expiries(self, expiries: tuple[date, ...]) -> OptionChain:
        """The same chain restricted to the given expiry dates."""
        wanted = set(expiries)
        rows = tuple(row for row in self.rows if row.expiry in wanted)
        return OptionChain(ticker=self.ticker, spot=self.spot, as_of=self.as_of, rows=rows, multiplier=self.multiplier)


class Product(NamedTuple):
    multiplier: float
    # Synthetic-chain parameters: strike spacing (index points) and at-the-money IV.
    strike_step: float
    base_iv: float


# 5-point strikes are SPX's and ES options' near-the-money increment. NDX and NQ list 10- and
# 25-point strikes; 25 keeps a ±12% synthetic chain at ~200 strikes. SPY/QQQ list 1-point strikes.
_INDEX_PRODUCTS: dict[str, Product] = {
    "SPX": Product(100.0, 5.0, 0.15),
    "SPXW": Product(100.0, 5.0, 0.15),
    "ES_SPX": Product(100.0, 5.0, 0.15),
    "SPY": Product(100.0, 1.0, 0.15),
    "NDX": Product(100.0, 25.0, 0.20),
    "NDXP": Product(100.0, 25.0, 0.20),
    "NQ_NDX": Product(100.0, 25.0, 0.20),
    "QQQ": Product(100.0, 1.0, 0.20),
}
_FUTURES_PRODUCTS: dict[str, Product] = {
    "ES": Product(50.0, 5.0, 0.15),
    "NQ": Product(20.0, 25.0, 0.20),
}


def product_for(ticker: str) -> Product:
    """Multiplier and synthetic-chain parameters of an option ticker; ChainError naming it when unknown.

    Futures options are recognised by root (`ES`, `/ES`) or contract in any feed form
    (`ESZ25`, `/ESZ25`, `/ESZ5`, `/ESZ25:XCME`).
    """
    raw = ticker.strip().upper()
    if raw in _INDEX_PRODUCTS:
        return _INDEX_PRODUCTS[raw]
    root = raw.lstrip("/")
    if root not in _FUTURES_PRODUCTS:
        try:
            root = parse_contract(raw).root
        except SymbolError:
            root = ""
    if root in _FUTURES_PRODUCTS:
        return _FUTURES_PRODUCTS[root]
    known = ", ".join([*_INDEX_PRODUCTS, *_FUTURES_PRODUCTS])
    raise ChainError(f"no contract multiplier known for option ticker {ticker!r}; known: {known} (and ES/NQ contracts)")


def multiplier_for(ticker: str) -> float:
    """Dollars per index point per contract: 100 (SPX, SPY, QQQ, NDX, ...), 50 (ES), 20 (NQ)."""
    return product_for(ticker).multiplier


# --- the synthetic chain ------------------------------------------------------------------------

# Strikes listed within ±12% of spot; the monthlies' tails beyond are left out (far strikes carry
# little gamma near spot, and the chain stays ~300 strikes wide for ES).
DEFAULT_WIDTH = 0.12
DAILY_EXPIRIES = 4  # 0DTE and the next three trading days
MONTHLY_EXPIRIES = 2
_DAILY_OI, _MONTHLY_OI = 2_500.0, 8_000.0
_PUT_MASS = 1.2  # index option open interest leans to puts
_ITM_SHARE = 0.02  # open interest of in-the-money strikes, relative to out-of-the-money ones


def _hash_uniform(*parts: np.ndarray | int) -> np.ndarray:
    """Deterministic uniform [0, 1) noise from integer keys (splitmix64), vectorized: the same
    strike of the same expiry gets the same noise whatever the spot, so walls do not flicker."""
    state = np.zeros(np.broadcast(*[np.asarray(p) for p in parts]).shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        state = _mix(state, parts)
    return (state >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _mix(state: np.ndarray, parts: tuple[np.ndarray | int, ...]) -> np.ndarray:
    for part in parts:
        state = state * np.uint64(0x100000001B3) + np.asarray(part).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        state ^= state >> np.uint64(30)
        state *= np.uint64(0xBF58476D1CE4E5B9)
        state ^= state >> np.uint64(27)
        state *= np.uint64(0x94D049BB133111EB)
        state ^= state >> np.uint64(31)
    return state


def _next_trading_day(day: date) -> date:
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def _monthly(year: int, month: int) -> date:
    """The monthly expiry: the third Friday, or the trading day before it when that is a holiday."""
    day = third_friday(year, month)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def synthetic_expiries(first: date) -> tuple[date, ...]:
    """The first trading day on or after `first` (the 0DTE on a trading day before the close), the
    three trading days after it, and the next two monthlies."""
    dailies = [_next_trading_day(first)]
    while len(dailies) < DAILY_EXPIRIES:
        dailies.append(_next_trading_day(dailies[-1] + timedelta(days=1)))
    monthlies: list[date] = []
    year, month = first.year, first.month
    while len(monthlies) < MONTHLY_EXPIRIES:
        expiry = _monthly(year, month)
        if expiry >= first:
            monthlies.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(sorted({*dailies, *monthlies}))


def synthetic_chain(
    *,
    ticker: str,
    spot: float,
    as_of: datetime,
    seed: int,
    strike_step: float | None = None,
    width: float = DEFAULT_WIDTH,
    base_iv: float | None = None,
) -> OptionChain:
    """A realistic, deterministic option chain around `spot` for the demo and tests.

    Strikes sit on the product's grid within ±`width` of spot (the grid re-centres as spot
    moves). Expiries: 0DTE, the next three trading days and the next two monthlies. Open
    interest is a bell around spot (calls centred a little above, puts a little below and
    heavier), wider for longer expiries, with bumps at round strikes (every 10th and 20th
    strike: 50/100 for ES) and seeded per-strike noise; volume is concentrated at the money and
    in the 0DTE. IV has a put skew (higher for low strikes) that steepens for short expiries.
    So the profile flips sign near spot and has distinct walls. The same seed, ticker, spot
    and instant always give the same chain; a strike's noise does not depend on spot.
    """
    product = product_for(ticker)
    step = strike_step or product.strike_step
    atm_iv = base_iv or product.base_iv
    if not (np.isfinite(spot) and spot > 0):
        raise ChainError(f"synthetic chain {ticker}: spot {spot!r} must be a positive number")
    if step <= 0 or not 0 < width < 1:
        raise ChainError(f"synthetic chain {ticker}: strike_step {step!r} must be > 0 and width {width!r} in (0, 1)")
    as_of = ensure_utc(as_of)
    first = first_live_expiry(as_of)
    strikes = np.arange(np.ceil(spot * (1 - width) / step), np.floor(spot * (1 + width) / step) + 1) * step
    strike_keys = np.rint(strikes * 100).astype(np.int64)
    round_bump = 1.0 + 2.0 * (strike_keys % np.int64(round(step * 2000)) == 0)
    round_bump += 0.8 * (strike_keys % np.int64(round(step * 1000)) == 0)
    moneyness = np.log(strikes / spot)
    ticker_key = zlib.crc32(ticker.upper().encode())

    rows: list[OptionContract] = []
    for index, expiry in enumerate(synthetic_expiries(first)):
        dte = (expiry - first).days
        monthly = expiry == _monthly(expiry.year, expiry.month)
        spread = max(0.02, 1.5 * atm_iv * np.sqrt((dte + 1) / 365.0)) * spot
        oi_scale = _MONTHLY_OI if monthly else _DAILY_OI
        volume_scale = (6_000.0 if index == 0 else 2_000.0 if index == 1 else 800.0) + (700.0 if monthly else 0.0)
        # Short expiries have the steeper skew and smile.
        steepness = np.sqrt(30.0 / max(dte, 1))
        slope, curvature = min(1.5, 0.6 * steepness), min(8.0, 1.5 * steepness)
        iv = np.clip(atm_iv - slope * moneyness + curvature * moneyness**2, 0.05, 1.5)
        for kind, centre, mass, volume_centre, type_key in (
            (OptionType.CALL, spot + 0.5 * spread, 1.0, spot + 0.1 * spread, 1),
            (OptionType.PUT, spot - 0.6 * spread, _PUT_MASS, spot - 0.1 * spread, 2),
        ):
            noise_oi = 0.6 + 0.8 * _hash_uniform(seed, ticker_key, strike_keys, expiry.toordinal(), type_key, 1)
            noise_vol = 0.5 + 1.0 * _hash_uniform(seed, ticker_key, strike_keys, expiry.toordinal(), type_key, 2)
            open_interest = oi_scale * mass * np.exp(-0.5 * ((strikes - centre) / spread) ** 2) * round_bump
            # Open interest sits mostly out of the money (calls above spot, puts below), as on
            # real index chains, so the call wall is above spot and the put wall below it.
            side = 1.0 if kind is OptionType.CALL else -1.0
            otm = side * (strikes - spot) / step - 2.0  # strikes out of the money beyond two
            open_interest *= _ITM_SHARE + (1 - _ITM_SHARE) / (1 + np.exp(-otm))
            volume = volume_scale * np.exp(-0.5 * ((strikes - volume_centre) / (0.4 * spread)) ** 2)
            oi_int = np.rint(open_interest * noise_oi).astype(np.int64)
            vol_int = np.rint(volume * noise_vol * np.sqrt(round_bump)).astype(np.int64)
            rows.extend(
                OptionContract(float(k), expiry, kind, int(o), int(v), float(s))
                for k, o, v, s in zip(strikes, oi_int, vol_int, iv, strict=True)
                if o or v
            )
    return OptionChain(ticker=ticker, spot=float(spot), as_of=as_of, rows=tuple(rows), multiplier=product.multiplier)
