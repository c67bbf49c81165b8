"""Gamma exposure (GEX) of an option chain: pure numpy, no I/O.

Method: shared/reference/gex_scid.md §2 (Perfiliev's "naive GEX").

- Per contract: `sign * gamma * qty * multiplier * S^2 * 0.01`, sign +1 for calls and -1 for
  puts (dealers assumed long calls, short puts), qty = open interest or today's volume. The unit
  is dollars of delta change per 1% move of the underlying (UNITS_DOLLARS_PER_1PCT). A strike's
  net GEX is its call GEX plus its (negative) put GEX.
- Black-Scholes gamma with continuous rate r and dividend yield q (both 0 by default, as in the
  reference); 0 when T or sigma is 0.
- Time to expiry: by default Perfiliev's business days / 262 (weekends and any `holidays`
  passed left out) with the same floor of 1/262 for 0DTE, which keeps the levels steady through
  the session instead of letting the 0DTE gamma explode towards the close. TimeBasis.CALENDAR
  counts real time to the 16:00 New York expiry / 365 days (an expiry already past has no
  gamma); `t_floor` applies to both.
- Zero gamma: the chain's GEX recomputed at hypothetical spots on a grid (IV fixed per contract,
  "sticky strike"), every sign change linearly interpolated and then polished on the exact
  profile (regula falsi inside its grid bracket); the crossing nearest spot is the headline,
  None when the profile never changes sign.
- Walls, two definitions named apart: `net_max`/`net_min` (largest positive / most negative net
  GEX strike, GEXBot's majors) and `call_side_max`/`put_side_max` (largest call-side / put-side
  exposure, SpotGamma's call and put walls).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import numpy as np

from apps.core.clock import EXCHANGE_TZ, ensure_utc, to_exchange
from apps.gex.chain import EXPIRY_TIME, ChainError, OptionChain
from apps.gex.snapshots import CATEGORIES, UNITS_DOLLARS_PER_1PCT, GEXSnapshot, StrikeRow, category_canonical

TRADING_DAYS_PER_YEAR = 262
T_FLOOR = 1.0 / TRADING_DAYS_PER_YEAR
ONE_PERCENT = 0.01
DEFAULT_SWEEP_RANGE = (0.8, 1.2)
# 0.25% of spot between grid points (15 ES points at 6000). The reference's 30 points are 1.4%
# apart (83 ES points): two flips inside one step cancel out unseen, and linear interpolation
# across such a step misplaces a flip by tens of points. The interpolation error left by the
# finer grid is then removed by polishing each crossing on the exact profile.
DEFAULT_SWEEP_POINTS = 161
_POLISH_ITERATIONS = 60
NEGLIGIBLE = 1e-9  # relative to the sweep's largest exposure
FULL_HORIZON_DAYS = 90  # GEXBot's gex_full aggregates expiries "up to 90 days out"
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class TimeBasis(StrEnum):
    BUSINESS = "business"
    CALENDAR = "calendar"


class Basis(StrEnum):
    """What counts as the position at a strike: open interest or today's volume."""

    OI = "oi"
    VOLUME = "volume"


@dataclass(frozen=True)
class StrikeExposure:
    """GEX at one strike, all expiries of the chain summed, in $ per 1% move (puts negative)."""

    strike: float
    call_oi: float
    put_oi: float
    call_vol: float
    put_vol: float

    @property
    def net_oi(self) -> float:
        return self.call_oi + self.put_oi

    @property
    def net_vol(self) -> float:
        return self.call_vol + self.put_vol


@dataclass(frozen=True)
class Walls:
    net_max: float | None  # strike of the largest positive net GEX (None: no strike is net positive)
    net_min: float | None  # strike of the most negative net GEX
    call_side_max: float | None  # strike of the largest call-side GEX (the call wall)
    put_side_max: float | None  # strike of the largest put-side GEX in size (the put wall)


@dataclass(frozen=True)
class ZeroGamma:
    level: float | None  # the crossing nearest spot; None when the profile never changes sign
    crossings: tuple[float, ...]  # every sign change on the sweep grid, ascending


@dataclass(frozen=True)
class Sweep:
    """The chain's total GEX at each hypothetical spot of the grid ($ per 1% move)."""

    levels: np.ndarray
    gex_oi: np.ndarray
    gex_vol: np.ndarray


@dataclass(frozen=True)
class GEXProfile:
    ticker: str
    spot: float
    as_of: datetime
    multiplier: float
    expiries: tuple[date, ...]
    strikes: tuple[StrikeExposure, ...]  # ascending strike
    total_oi: float
    total_vol: float
    zero_gamma_oi: ZeroGamma
    zero_gamma_vol: ZeroGamma
    walls_oi: Walls
    walls_vol: Walls
    sweep: Sweep
    units: str = UNITS_DOLLARS_PER_1PCT

    @property
    def zero_gamma(self) -> float | None:
        """The headline flip level, by open interest (the reference's method)."""
        return self.zero_gamma_oi.level


def bs_gamma(
    *,
    spot: np.ndarray | float,
    strike: np.ndarray | float,
    iv: np.ndarray | float,
    t: np.ndarray | float,
    r: float = 0.0,
    q: float = 0.0,
) -> np.ndarray:
    """Black-Scholes gamma per unit of underlying, `e^(-qT) phi(d1) / (S sigma sqrt(T))` (the same
    for calls and puts), broadcast over the inputs; 0 where T or sigma is not positive."""
    s, k, sigma, years = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (spot, strike, iv, t)))
    valid = (years > 0) & (sigma > 0) & (s > 0) & (k > 0)
    years = np.where(valid, years, 1.0)
    sigma = np.where(valid, sigma, 1.0)
    s, k = np.where(valid, s, 1.0), np.where(valid, k, 1.0)
    vol_sqrt_t = sigma * np.sqrt(years)
    d1 = (np.log(s / k) + (r - q + 0.5 * sigma**2) * years) / vol_sqrt_t
    gamma = np.exp(-q * years) * np.exp(-0.5 * d1**2) * _INV_SQRT_2PI / (s * vol_sqrt_t)
    return np.where(valid, gamma, 0.0)


def contract_gex(
    *,
    gamma: np.ndarray | float,
    quantity: np.ndarray | float,
    is_call: np.ndarray | bool,
    multiplier: float,
    spot: float,
) -> np.ndarray:
    """`sign * gamma * quantity * multiplier * S^2 * 0.01`: dollars per 1% move, calls +, puts -."""
    sign = np.where(is_call, 1.0, -1.0)
    return sign * np.asarray(gamma) * np.asarray(quantity) * multiplier * spot * spot * ONE_PERCENT


def years_to_expiry(
    *,
    as_of: datetime,
    expiries: np.ndarray,
    time_basis: TimeBasis = TimeBasis.BUSINESS,
    t_floor: float = T_FLOOR,
    holidays: Sequence[date] = (),
) -> np.ndarray:
    """T in years for each expiry (`datetime64[D]`) seen from `as_of`.

    BUSINESS: business days from the New York trade date to the expiry date / 262, at least
    `t_floor` (so a 0DTE counts as one day). CALENDAR: seconds to 16:00 New York on the expiry
    date / 365 days; 0 once that moment has passed, else at least `t_floor`. `holidays` are
    left out of the business-day count (weekends always are).
    """
    expiries = np.asarray(expiries, dtype="datetime64[D]")
    if time_basis is TimeBasis.BUSINESS:
        trade_date = np.datetime64(to_exchange(as_of).date(), "D")
        days = np.busday_count(trade_date, expiries, holidays=np.asarray(holidays, dtype="datetime64[D]"))
        return np.maximum(days / TRADING_DAYS_PER_YEAR, t_floor)
    now = ensure_utc(as_of).timestamp()
    # 16:00 New York is 20:00 or 21:00 UTC; resolve it once per distinct expiry date.
    distinct, inverse = np.unique(expiries, return_inverse=True)
    closes = np.array(
        [datetime.combine(day.astype(date), EXPIRY_TIME, tzinfo=EXCHANGE_TZ).timestamp() - now for day in distinct],
        dtype=np.float64,
    )[inverse]
    years = closes / (365.0 * 86_400.0)
    return np.where(years > 0, np.maximum(years, t_floor), 0.0)


def sign_crossings(levels: np.ndarray, values: np.ndarray) -> tuple[float, ...]:
    """Where `values` (sampled at ascending `levels`) changes sign, by linear interpolation
    between the bracketing points. A run of exact zeros between opposite signs (gamma that
    underflowed far from every strike) counts once, at the middle of the run."""
    signs = np.sign(values)
    nonzero = np.flatnonzero(signs)
    if nonzero.size < 2:
        return ()
    left, right = nonzero[:-1], nonzero[1:]
    change = signs[left] != signs[right]
    crossings = []
    for i, j in zip(left[change], right[change], strict=True):
        if j == i + 1:
            x0, x1, v0, v1 = levels[i], levels[j], values[i], values[j]
            crossings.append(float(x0 - v0 * (x1 - x0) / (v1 - v0)))
        else:
            crossings.append(float((levels[i + 1] + levels[j - 1]) / 2.0))
    return tuple(crossings)


def _zero_gamma(
    levels: np.ndarray,
    values: np.ndarray,
    spot: float,
    evaluate: Callable[[np.ndarray], np.ndarray] | None,
) -> ZeroGamma:
    # Far from every strike the exposure underflows towards 0 and its sign is rounding noise
    # (1e-25 against a peak of 1e9): such values count as zero, not as a side of a crossing.
    values = np.where(np.abs(values) > NEGLIGIBLE * np.abs(values).max(initial=0.0), values, 0.0)
    crossings = sign_crossings(levels, values)
    if evaluate is not None:
        crossings = _polish(evaluate, levels, values, crossings)
    level = min(crossings, key=lambda x: abs(x - spot)) if crossings else None
    return ZeroGamma(level=level, crossings=crossings)


def _walls(strikes: np.ndarray, calls: np.ndarray, puts: np.ndarray) -> Walls:
    if not strikes.size:
        return Walls(None, None, None, None)
    net = calls + puts
    high, low = int(np.argmax(net)), int(np.argmin(net))
    call, put = int(np.argmax(calls)), int(np.argmin(puts))
    return Walls(
        net_max=float(strikes[high]) if net[high] > 0 else None,
        net_min=float(strikes[low]) if net[low] < 0 else None,
        call_side_max=float(strikes[call]) if calls[call] > 0 else None,
        put_side_max=float(strikes[put]) if puts[put] < 0 else None,
    )


class _Kernel:
    """The chain's total GEX as a function of hypothetical spot L, one column per weighting.

    Contracts sharing strike, T and IV (a call and a put of one expiry) are merged first, and
    gamma is factored as `c * phi(d1) / L`, so one exp per (level, contract) is all the work:
    GEX(L) = multiplier * 0.01 * L * sum_j w_j c_j exp(-d1_j(L)^2 / 2).
    """

    def __init__(
        self,
        *,
        strike: np.ndarray,
        iv: np.ndarray,
        t: np.ndarray,
        weights: np.ndarray,
        multiplier: float,
        r: float,
        q: float,
    ) -> None:
        live = (t > 0) & (iv > 0) & np.any(weights != 0, axis=1)
        strike, t, iv, weights = strike[live], t[live], iv[live], weights[live]
        order = np.lexsort((iv, t, strike))
        strike, t, iv, weights = strike[order], t[order], iv[order], weights[order]
        changed = (np.diff(strike) != 0) | (np.diff(t) != 0) | (np.diff(iv) != 0)
        starts = np.flatnonzero(np.r_[True, changed]) if strike.size else np.zeros(0, dtype=np.intp)
        merged = np.add.reduceat(weights, starts, axis=0) if starts.size else np.zeros((0, weights.shape[1]))
        k, years, sigma = strike[starts], t[starts], iv[starts]
        self.vol_sqrt_t = sigma * np.sqrt(years)
        self.shift = (r - q + 0.5 * sigma**2) * years - np.log(k)
        self.weights = merged * (np.exp(-q * years) * _INV_SQRT_2PI / self.vol_sqrt_t)[:, None]
        self.factor = multiplier * ONE_PERCENT

    def __call__(self, levels: np.ndarray) -> np.ndarray:
        """GEX at each level, shape (levels, weightings)."""
        d1 = (np.log(levels)[:, None] + self.shift[None, :]) / self.vol_sqrt_t[None, :]
        return (np.exp(-0.5 * d1 * d1) @ self.weights) * (self.factor * levels)[:, None]


def _polish(
    evaluate: Callable[[np.ndarray], np.ndarray],
    levels: np.ndarray,
    values: np.ndarray,
    crossings: tuple[float, ...],
) -> tuple[float, ...]:
    """Each interpolated crossing refined on the exact profile by regula falsi (Illinois) inside
    its grid bracket, so the answer no longer depends on the grid step. A crossing without a
    strict sign bracket (a run of exact zeros) is kept as it is."""
    if not crossings:
        return crossings
    guess = np.asarray(crossings)
    right = np.clip(np.searchsorted(levels, guess), 1, levels.size - 1)
    lo, hi = levels[right - 1].copy(), levels[right].copy()
    f_lo, f_hi = values[right - 1].copy(), values[right].copy()
    bracketed = np.sign(f_lo) * np.sign(f_hi) < 0
    if not bracketed.any():
        return crossings
    lo, hi, f_lo, f_hi = lo[bracketed], hi[bracketed], f_lo[bracketed], f_hi[bracketed]
    side = np.zeros(lo.size)
    tolerance = 1e-9 * float(np.abs(levels).max())
    x = (lo + hi) / 2
    for _ in range(_POLISH_ITERATIONS):
        x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        f_x = evaluate(x)
        same_as_hi = np.sign(f_x) == np.sign(f_hi)
        f_lo = np.where(same_as_hi & (side > 0), f_lo / 2, f_lo)
        f_hi = np.where(~same_as_hi & (side < 0), f_hi / 2, f_hi)
        hi, f_hi = np.where(same_as_hi, x, hi), np.where(same_as_hi, f_x, f_hi)
        lo, f_lo = np.where(same_as_hi, lo, x), np.where(same_as_hi, f_lo, f_x)
        side = np.where(same_as_hi, 1.0, -1.0)
        if np.all((hi - lo < tolerance) | (f_x == 0)):
            break
    polished = guess.copy()
    polished[bracketed] = x
    return tuple(float(value) for value in polished)


def compute_profile(
    chain: OptionChain,
    *,
    r: float = 0.0,
    q: float = 0.0,
    time_basis: TimeBasis = TimeBasis.BUSINESS,
    t_floor: float = T_FLOOR,
    holidays: Sequence[date] = (),
    sweep_range: tuple[float, float] = DEFAULT_SWEEP_RANGE,
    sweep_points: int = DEFAULT_SWEEP_POINTS,
    refine: bool = True,
) -> GEXProfile:
    """The GEX profile of a chain at its spot: per-strike exposure by OI and by volume, totals,
    zero gamma and walls.

    Zero gamma: every sign change of the total GEX on `sweep_points` hypothetical spots evenly
    spread over `sweep_range` x spot, linearly interpolated; with `refine` (the default) each
    one is then polished on the exact profile. `refine=False` is the reference's method.

    Options already expired at `as_of` are left out (today's expire at 16:00 New York).
    """
    low, high = sweep_range
    if not 0 < low < high:
        raise ValueError(f"sweep_range {sweep_range!r} must be two increasing positive multiples of spot")
    if sweep_points < 2:
        raise ValueError(f"sweep_points {sweep_points!r} must be at least 2")
    if t_floor < 0:
        raise ValueError(f"t_floor {t_floor!r} must not be negative")
    arrays = chain.arrays
    alive = arrays.expiry >= np.datetime64(chain.first_live_expiry, "D")
    if not alive.any():
        raise ChainError(f"chain {chain.ticker} has no options expiring on or after {chain.first_live_expiry}")
    strike, expiry, is_call = arrays.strike[alive], arrays.expiry[alive], arrays.is_call[alive]
    oi, volume, iv = arrays.open_interest[alive], arrays.volume[alive], arrays.iv[alive]
    spot, multiplier = chain.spot, chain.multiplier

    t = years_to_expiry(as_of=chain.as_of, expiries=expiry, time_basis=time_basis, t_floor=t_floor, holidays=holidays)
    gamma = bs_gamma(spot=spot, strike=strike, iv=iv, t=t, r=r, q=q)
    gex_oi = contract_gex(gamma=gamma, quantity=oi, is_call=is_call, multiplier=multiplier, spot=spot)
    gex_vol = contract_gex(gamma=gamma, quantity=volume, is_call=is_call, multiplier=multiplier, spot=spot)

    strikes, index = np.unique(strike, return_inverse=True)
    size = strikes.size
    call_oi = np.bincount(index, weights=np.where(is_call, gex_oi, 0.0), minlength=size)
    put_oi = np.bincount(index, weights=np.where(is_call, 0.0, gex_oi), minlength=size)
    call_vol = np.bincount(index, weights=np.where(is_call, gex_vol, 0.0), minlength=size)
    put_vol = np.bincount(index, weights=np.where(is_call, 0.0, gex_vol), minlength=size)

    levels = np.linspace(low * spot, high * spot, sweep_points)
    sign = np.where(is_call, 1.0, -1.0)
    kernel = _Kernel(
        strike=strike,
        iv=iv,
        t=t,
        weights=np.column_stack([sign * oi, sign * volume]),
        multiplier=multiplier,
        r=r,
        q=q,
    )
    curve = kernel(levels)
    rows = tuple(
        StrikeExposure(float(k), float(co), float(po), float(cv), float(pv))
        for k, co, po, cv, pv in zip(strikes, call_oi, put_oi, call_vol, put_vol, strict=True)
    )
    return GEXProfile(
        ticker=chain.ticker,
        spot=spot,
        as_of=chain.as_of,
        multiplier=multiplier,
        expiries=tuple(day.astype(date) for day in np.unique(expiry)),
        strikes=rows,
        total_oi=float(gex_oi.sum()),
        total_vol=float(gex_vol.sum()),
        zero_gamma_oi=_zero_gamma(levels, curve[:, 0], spot, (lambda x: kernel(x)[:, 0]) if refine else None),
        zero_gamma_vol=_zero_gamma(levels, curve[:, 1], spot, (lambda x: kernel(x)[:, 1]) if refine else None),
        walls_oi=_walls(strikes, call_oi, put_oi),
        walls_vol=_walls(strikes, call_vol, put_vol),
        sweep=Sweep(levels=levels, gex_oi=curve[:, 0], gex_vol=curve[:, 1]),
    )


def chain_for_category(chain: OptionChain, *, category: str) -> OptionChain:
    """The part of a chain a GEXBot category covers: `gex_zero` the nearest live expiry,
    `gex_one` the next one, `gex_full` every expiry up to 90 days out."""
    name = category_canonical(category)
    expiries = chain.expiries()
    if name == "gex_zero":
        selected = expiries[:1]
    elif name == "gex_one":
        selected = expiries[1:2]
    elif name == "gex_full":
        horizon = chain.trade_date.toordinal() + FULL_HORIZON_DAYS
        selected = tuple(day for day in expiries if day.toordinal() <= horizon)
    else:
        raise ChainError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    if not selected:
        raise ChainError(f"chain {chain.ticker} has no expiry for category {name} ({len(expiries)} live expiries)")
    return chain.with_expiries(selected)


def profile_to_snapshot(
    profile: GEXProfile,
    *,
    ticker: str,
    category: str,
    source: str,
    zero_gamma_basis: Basis = Basis.OI,
) -> GEXSnapshot:
    """The profile in GEXBot's snapshot shape (package `local`, units $ per 1% move).

    Majors are the net-GEX walls (`net_max`/`net_min`) by volume and by OI: None when no strike
    is net positive (or negative), rather than a "major positive" strike that is negative. The
    call and put walls are the call-side and put-side maxima by OI (`call_side_max`/`put_side_max`).
    """
    name = category_canonical(category)
    if name not in CATEGORIES:
        raise ChainError(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    trade_date = to_exchange(profile.as_of).date()
    dte = [(day - trade_date).days for day in profile.expiries]
    zero_gamma = profile.zero_gamma_oi if zero_gamma_basis is Basis.OI else profile.zero_gamma_vol
    return GEXSnapshot(
        ticker=ticker,
        package="local",
        category=name,
        timestamp=int(profile.as_of.timestamp()),
        spot=profile.spot,
        zero_gamma=zero_gamma.level,
        major_pos_vol=profile.walls_vol.net_max,
        major_pos_oi=profile.walls_oi.net_max,
        major_neg_vol=profile.walls_vol.net_min,
        major_neg_oi=profile.walls_oi.net_min,
        sum_gex_vol=profile.total_vol,
        sum_gex_oi=profile.total_oi,
        min_dte=dte[0] if dte else None,
        sec_min_dte=dte[1] if len(dte) > 1 else None,
        strikes=tuple(StrikeRow(row.strike, row.net_vol, row.net_oi) for row in profile.strikes),
        source=source,
        units=profile.units,
        call_wall=profile.walls_oi.call_side_max,
        put_wall=profile.walls_oi.put_side_max,
    )
