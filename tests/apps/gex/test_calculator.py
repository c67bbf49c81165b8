"""The local GEX calculator against arithmetic done by hand in this file (math only, never the
code under test): gamma, sign, the 1% unit, multipliers, zero gamma, walls, categories, and the
synthetic chain the demo draws from."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from apps.gex.calculator import (
    DEFAULT_SWEEP_POINTS,
    DEFAULT_SWEEP_RANGE,
    T_FLOOR,
    Basis,
    GEXProfile,
    StrikeExposure,
    TimeBasis,
    bs_gamma,
    chain_for_category,
    compute_profile,
    profile_to_snapshot,
    sign_crossings,
    years_to_expiry,
)
from apps.gex.chain import (
    ChainError,
    OptionChain,
    OptionContract,
    OptionType,
    multiplier_for,
    synthetic_chain,
)
from apps.gex.snapshots import UNITS_DOLLARS_PER_1PCT, StrikeRow, snapshot_decode, snapshot_encode

CALL, PUT = OptionType.CALL, OptionType.PUT

# The reference's toy fixture (gex_scid.md §2.4): S=100, a 95 put and a 105 call, IV 20%,
# T = 30/365, open interest 1000 each.
S, SIGMA, T, OI = 100.0, 0.2, 30 / 365, 1000
# 16:00 New York (EDT) on June 1st; the expiry is 30 calendar days later, with no DST change in
# between, so the calendar time basis gives exactly T = 30/365.
AS_OF = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
EXPIRY = date(2026, 7, 1)


def hand_gamma(spot: float, strike: float, sigma: float = SIGMA, t: float = T) -> float:
    """Black-Scholes gamma with r = q = 0, written out: phi(d1) / (S sigma sqrt(T))."""
    d1 = (math.log(spot / strike) + 0.5 * sigma * sigma * t) / (sigma * math.sqrt(t))
    return math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi) / (spot * sigma * math.sqrt(t))


def hand_delta(spot: float, strike: float) -> float:
    """Call delta N(d1), with N from math.erf."""
    d1 = (math.log(spot / strike) + 0.5 * SIGMA * SIGMA * T) / (SIGMA * math.sqrt(T))
    return 0.5 * (1 + math.erf(d1 / math.sqrt(2)))


def contract(strike: float, kind: OptionType, oi: int = OI, volume: int = 0, iv: float = SIGMA) -> OptionContract:
    return OptionContract(strike=strike, expiry=EXPIRY, option_type=kind, open_interest=oi, volume=volume, iv=iv)


def chain_of(*rows: OptionContract, spot: float = S, multiplier: float = 100.0, ticker: str = "SPX") -> OptionChain:
    return OptionChain(ticker=ticker, spot=spot, as_of=AS_OF, rows=rows, multiplier=multiplier)


def calendar(chain: OptionChain, *, refine: bool = True, sweep_points: int = DEFAULT_SWEEP_POINTS) -> GEXProfile:
    """The profile with T counted in calendar time: exactly 30/365 for the toy fixture."""
    return compute_profile(chain, time_basis=TimeBasis.CALENDAR, refine=refine, sweep_points=sweep_points)


def toy_chain(multiplier: float = 100.0, call_volume: int = 0, put_volume: int = 0) -> OptionChain:
    return chain_of(
        contract(95, PUT, volume=put_volume), contract(105, CALL, volume=call_volume), multiplier=multiplier
    )


def by_strike(profile: GEXProfile) -> dict[float, StrikeExposure]:
    return {row.strike: row for row in profile.strikes}


# --- gamma, sign and units --------------------------------------------------------------------


def test_gamma_of_the_toy_fixture_matches_hand_arithmetic() -> None:
    put, call = hand_gamma(S, 95), hand_gamma(S, 105)
    # d1 = (ln(100/95) + 0.02 * 30/365) / (0.2 * sqrt(30/365)) = 0.92324...; gamma = phi(d1) / (100 * 0.2 * sqrt(T))
    assert put == pytest.approx(0.0454333, rel=1e-5)
    assert call == pytest.approx(0.0496197, rel=1e-5)
    computed = bs_gamma(spot=S, strike=np.array([95.0, 105.0]), iv=SIGMA, t=T)
    assert computed[0] == pytest.approx(put, rel=1e-12)
    assert computed[1] == pytest.approx(call, rel=1e-12)


def test_gamma_is_zero_without_time_or_volatility() -> None:
    gamma = bs_gamma(spot=S, strike=100.0, iv=np.array([0.2, 0.0, 0.2]), t=np.array([0.0, T, -0.1]))
    assert gamma.tolist() == [0.0, 0.0, 0.0]


def test_toy_chain_gex_per_strike_sign_and_units() -> None:
    profile = calendar(toy_chain())
    rows = by_strike(profile)
    # GEX = sign * gamma * OI * multiplier * S^2 * 0.01, in $ per 1% move.
    expected_put = -hand_gamma(S, 95) * 1000 * 100 * S * S * 0.01
    expected_call = hand_gamma(S, 105) * 1000 * 100 * S * S * 0.01
    assert expected_put == pytest.approx(-454333.0, rel=1e-5)
    assert rows[95.0].put_oi == pytest.approx(expected_put, rel=1e-9)
    assert rows[95.0].call_oi == 0
    assert rows[105.0].call_oi == pytest.approx(expected_call, rel=1e-9)
    assert rows[95.0].net_oi < 0 < rows[105.0].net_oi
    assert profile.total_oi == pytest.approx(expected_call + expected_put, rel=1e-9)
    assert profile.units == UNITS_DOLLARS_PER_1PCT == "$ per 1% move"


def test_gex_is_the_dollar_delta_change_of_a_one_percent_move() -> None:
    """What "$ per 1% move" promises: the dealer's delta, in dollars, changes by this much when
    spot moves 1% (checked against a finite difference of N(d1))."""
    profile = calendar(chain_of(contract(105, CALL)))
    delta_change = hand_delta(S * 1.005, 105) - hand_delta(S * 0.995, 105)  # over a 1% move centred on S
    dollars = delta_change * OI * 100 * S
    assert profile.total_oi == pytest.approx(dollars, rel=1e-3)
    # ... and it is 1% (not 100%, not one point) of spot: ratio to gamma * OI * multiplier * S^2.
    assert profile.total_oi / (hand_gamma(S, 105) * OI * 100 * S * S) == pytest.approx(0.01, rel=1e-12)


@pytest.mark.parametrize(("multiplier", "ratio"), [(100.0, 1.0), (50.0, 0.5), (20.0, 0.2)])
def test_multiplier_scales_gex_linearly(multiplier: float, ratio: float) -> None:
    base = calendar(toy_chain(100.0))
    scaled = calendar(toy_chain(multiplier))
    assert scaled.total_oi == pytest.approx(base.total_oi * ratio, rel=1e-12)
    for row, base_row in zip(scaled.strikes, base.strikes, strict=True):
        assert row.net_oi == pytest.approx(base_row.net_oi * ratio, rel=1e-12)
    assert scaled.zero_gamma == pytest.approx(base.zero_gamma, rel=1e-12)


def test_by_volume_uses_volume_in_place_of_open_interest() -> None:
    profile = calendar(toy_chain(call_volume=500, put_volume=3000))
    rows = by_strike(profile)
    assert rows[105.0].call_vol == pytest.approx(hand_gamma(S, 105) * 500 * 100 * S * S * 0.01, rel=1e-9)
    assert rows[95.0].put_vol == pytest.approx(-hand_gamma(S, 95) * 3000 * 100 * S * S * 0.01, rel=1e-9)
    assert profile.total_vol < 0 < profile.total_oi  # puts dominate today's volume, calls the OI
    assert profile.zero_gamma_vol.level != pytest.approx(profile.zero_gamma_oi.level, abs=0.5)


@pytest.mark.parametrize(
    ("ticker", "multiplier"),
    [
        ("SPX", 100),
        ("SPXW", 100),
        ("SPY", 100),
        ("QQQ", 100),
        ("NDX", 100),
        ("NDXP", 100),
        ("ES_SPX", 100),
        ("NQ_NDX", 100),
        ("ES", 50),
        ("/ES", 50),
        ("ESZ25", 50),
        ("/ESZ25:XCME", 50),
        ("NQ", 20),
        ("NQH26", 20),
    ],
)
def test_multiplier_per_product(ticker: str, multiplier: float) -> None:
    assert multiplier_for(ticker) == multiplier


@pytest.mark.parametrize("ticker", ["FOO", "MES", "RTY", "ESX"])
def test_unknown_ticker_multiplier_is_an_error_naming_it(ticker: str) -> None:
    with pytest.raises(ChainError, match=repr(ticker)):
        multiplier_for(ticker)


# --- time to expiry ---------------------------------------------------------------------------


@pytest.mark.calendar
def test_business_day_time_basis_with_the_0dte_floor() -> None:
    as_of = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # Wednesday, 10:30 New York
    expiries = np.array(["2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09"], dtype="datetime64[D]")
    t = years_to_expiry(as_of=as_of, expiries=expiries)
    # 0, 1, 2 and 3 business days (the weekend does not count); 0DTE floored to one day.
    assert t.tolist() == pytest.approx([1 / 262, 1 / 262, 2 / 262, 3 / 262])
    assert T_FLOOR == 1 / 262
    with_holiday = years_to_expiry(as_of=as_of, expiries=expiries, holidays=[date(2026, 3, 5)])
    assert with_holiday[-1] == pytest.approx(2 / 262)


@pytest.mark.calendar
def test_calendar_time_basis_counts_to_the_close_and_expires() -> None:
    expiries = np.array(["2026-07-01", "2026-06-01"], dtype="datetime64[D]")
    before_close = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 10:00 New York, six hours to the close
    t = years_to_expiry(as_of=before_close, expiries=expiries, time_basis=TimeBasis.CALENDAR, t_floor=0.0)
    assert t[0] == pytest.approx((30 * 24 + 6) / (365 * 24))
    assert t[1] == pytest.approx(6 / (365 * 24))
    after_close = years_to_expiry(as_of=AS_OF + timedelta(minutes=1), expiries=expiries, time_basis=TimeBasis.CALENDAR)
    assert after_close[1] == 0.0  # expired at 16:00: no gamma left, the floor does not revive it


# --- zero gamma -------------------------------------------------------------------------------


def test_toy_chain_flips_at_the_analytic_level_between_the_strikes() -> None:
    """With equal OI, T and IV, phi(d1) of the call equals phi(d1) of the put where
    d1_put = -d1_call: ln(L/95) + ln(L/105) + sigma^2 T = 0, so L = sqrt(95 * 105) * exp(-sigma^2 T / 2)."""
    analytic = math.sqrt(95 * 105) * math.exp(-SIGMA * SIGMA * T / 2)
    assert analytic == pytest.approx(99.7109, abs=1e-4)
    profile = calendar(toy_chain())
    assert 95 < profile.zero_gamma < 105
    assert profile.zero_gamma == pytest.approx(analytic, abs=1e-6)
    assert profile.zero_gamma_oi.crossings == pytest.approx((analytic,), abs=1e-6)
    # The reference's method alone (no polishing): linear interpolation on the grid.
    grid_step = (DEFAULT_SWEEP_RANGE[1] - DEFAULT_SWEEP_RANGE[0]) * S / (DEFAULT_SWEEP_POINTS - 1)
    plain = calendar(toy_chain(), refine=False)
    assert abs(plain.zero_gamma - analytic) < grid_step
    coarse = calendar(toy_chain(), refine=False, sweep_points=30)
    assert abs(coarse.zero_gamma - analytic) < 40 / 29
    # Below the flip the puts win (negative), above it the calls.
    below = plain.sweep.gex_oi[plain.sweep.levels < analytic - grid_step]
    above = plain.sweep.gex_oi[(plain.sweep.levels > analytic + grid_step) & (plain.sweep.levels < 105)]
    assert (below < 0).all()
    assert (above > 0).all()


def hand_profile(level: float, legs: list[tuple[float, int]]) -> float:
    """Total GEX at hypothetical spot `level` for (strike, +1 call / -1 put) legs of OI 1000."""
    return sum(sign * hand_gamma(level, strike) * OI * 100 * level * level * 0.01 for strike, sign in legs)


def bisect(legs: list[tuple[float, int]], low: float, high: float) -> float:
    f_low = hand_profile(low, legs)
    for _ in range(100):
        middle = (low + high) / 2
        f_middle = hand_profile(middle, legs)
        if (f_middle < 0) == (f_low < 0):
            low, f_low = middle, f_middle
        else:
            high = middle
    return (low + high) / 2


def test_two_crossings_are_both_found() -> None:
    legs = [(90.0, -1), (100.0, 1), (110.0, -1)]  # a call between two puts: - + - as spot rises
    expected = (bisect(legs, 85, 100), bisect(legs, 100, 115))
    assert 90 < expected[0] < 100 < expected[1] < 110
    chain = chain_of(contract(90, PUT), contract(100, CALL), contract(110, PUT), spot=101.0)
    profile = calendar(chain)
    assert profile.zero_gamma_oi.crossings == pytest.approx(expected, abs=1e-6)
    nearest = min(expected, key=lambda level: abs(level - 101.0))
    assert profile.zero_gamma == pytest.approx(nearest, abs=1e-6)
    plain = calendar(chain, refine=False)
    assert plain.zero_gamma_oi.crossings == pytest.approx(expected, abs=(0.4 * 101) / (DEFAULT_SWEEP_POINTS - 1))


def test_no_crossing_gives_none() -> None:
    profile = calendar(chain_of(contract(95, CALL), contract(105, CALL)))
    assert profile.zero_gamma is None
    assert profile.zero_gamma_oi.crossings == ()
    snapshot = profile_to_snapshot(profile, ticker="SPX", category="gex_full", source="local")
    assert snapshot.zero_gamma is None


def test_sign_crossings_interpolates_and_handles_exact_zeros() -> None:
    levels = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert sign_crossings(levels, np.array([-1.0, 3.0, 3.0, 3.0, 3.0, 3.0])) == pytest.approx((1.25,))
    # A run of exact zeros between opposite signs is one crossing, in its middle.
    assert sign_crossings(levels, np.array([-1.0, 0.0, 0.0, 0.0, 2.0, 2.0])) == pytest.approx((3.0,))
    # Zeros at the edge, or between equal signs, are no crossing.
    assert sign_crossings(levels, np.array([0.0, 0.0, 1.0, 0.0, 1.0, 2.0])) == ()


def test_invalid_sweep_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="sweep_range"):
        compute_profile(toy_chain(), sweep_range=(1.2, 0.8))
    with pytest.raises(ValueError, match="sweep_points"):
        compute_profile(toy_chain(), sweep_points=1)


# --- walls ------------------------------------------------------------------------------------


def test_walls_both_definitions_on_a_hand_built_chain() -> None:
    rows = (
        contract(95, PUT, oi=2000, volume=10),
        contract(100, CALL, oi=5000, volume=100),
        contract(100, PUT, oi=4500, volume=900),
        contract(105, CALL, oi=3000, volume=800),
    )
    profile = calendar(chain_of(*rows))
    g95, g100, g105 = hand_gamma(S, 95), hand_gamma(S, 100), hand_gamma(S, 105)
    # By hand (the common factor multiplier * S^2 * 0.01 left out):
    net = {95.0: -2000 * g95, 100.0: (5000 - 4500) * g100, 105.0: 3000 * g105}
    calls = {100.0: 5000 * g100, 105.0: 3000 * g105}
    puts = {95.0: -2000 * g95, 100.0: -4500 * g100}
    assert max(net, key=net.__getitem__) == 105.0
    assert min(net, key=net.__getitem__) == 95.0
    assert max(calls, key=calls.__getitem__) == 100.0
    assert min(puts, key=puts.__getitem__) == 100.0
    walls = profile.walls_oi
    assert (walls.net_max, walls.net_min, walls.call_side_max, walls.put_side_max) == (105.0, 95.0, 100.0, 100.0)
    # By volume: 100 is net negative (100 calls vs 900 puts), 105 the largest positive.
    vol = profile.walls_vol
    assert (vol.net_max, vol.net_min, vol.call_side_max, vol.put_side_max) == (105.0, 100.0, 105.0, 100.0)

    snapshot = profile_to_snapshot(profile, ticker="SPX", category="gex_full", source="local")
    assert (snapshot.major_pos_oi, snapshot.major_neg_oi) == (105.0, 95.0)
    assert (snapshot.major_pos_vol, snapshot.major_neg_vol) == (105.0, 100.0)
    # The snapshot's call and put walls are the side maxima by OI, named apart from the majors.
    assert (snapshot.call_wall, snapshot.put_wall) == (100.0, 100.0)


def test_walls_are_none_when_no_strike_is_on_that_side() -> None:
    profile = calendar(chain_of(contract(95, CALL), contract(105, CALL)))
    assert profile.walls_oi.net_min is None
    assert profile.walls_oi.put_side_max is None
    assert profile.walls_oi.net_max == profile.walls_oi.call_side_max is not None
    assert profile.walls_vol.net_max is None  # no volume at all


# --- categories and the snapshot ----------------------------------------------------------------


def three_expiry_chain() -> OptionChain:
    as_of = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # Wednesday
    rows = []
    for expiry, oi in ((date(2026, 3, 3), 9999), (date(2026, 3, 4), 1000), (date(2026, 3, 5), 2000)):
        rows += [
            OptionContract(5990.0, expiry, PUT, oi, 10, 0.15),
            OptionContract(6010.0, expiry, CALL, oi, 20, 0.15),
        ]
    rows.append(OptionContract(6010.0, date(2026, 3, 20), CALL, 3000, 0, 0.15))
    rows.append(OptionContract(6010.0, date(2026, 9, 18), CALL, 3000, 0, 0.15))  # beyond 90 days
    return OptionChain(ticker="ES", spot=6000.0, as_of=as_of, rows=tuple(rows), multiplier=50.0)


@pytest.mark.calendar
def test_categories_select_expiries() -> None:
    chain = three_expiry_chain()
    assert chain.expiries() == (date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 20), date(2026, 9, 18))
    assert chain_for_category(chain, category="gex_zero").expiries() == (date(2026, 3, 4),)
    assert chain_for_category(chain, category="zero").expiries() == (date(2026, 3, 4),)
    assert chain_for_category(chain, category="gex_one").expiries() == (date(2026, 3, 5),)
    assert chain_for_category(chain, category="gex_full").expiries() == (
        date(2026, 3, 4),
        date(2026, 3, 5),
        date(2026, 3, 20),
    )
    with pytest.raises(ChainError, match="gamma_zero"):
        chain_for_category(chain, category="gamma_zero")
    single = chain_for_category(chain, category="gex_zero")
    with pytest.raises(ChainError, match="gex_one"):
        chain_for_category(single, category="gex_one")


@pytest.mark.calendar
def test_expired_options_do_not_count() -> None:
    chain = three_expiry_chain()
    profile = compute_profile(chain)
    # The 9999-lot expired yesterday: the 3-03 expiry is not in the profile and not in its totals.
    assert date(2026, 3, 3) not in profile.expiries
    only_live = OptionChain(
        ticker="ES",
        spot=6000.0,
        as_of=chain.as_of,
        rows=tuple(row for row in chain.rows if row.expiry != date(2026, 3, 3)),
        multiplier=50.0,
    )
    assert profile.total_oi == pytest.approx(compute_profile(only_live).total_oi, rel=1e-12)
    # Today's options expire at 16:00 New York: at 16:30 the nearest expiry is tomorrow's.
    after_close = OptionChain(
        ticker="ES", spot=6000.0, as_of=datetime(2026, 3, 4, 21, 30, tzinfo=UTC), rows=chain.rows, multiplier=50.0
    )
    assert after_close.expiries()[0] == date(2026, 3, 5)
    assert date(2026, 3, 4) not in compute_profile(after_close).expiries
    assert chain_for_category(after_close, category="gex_zero").expiries() == (date(2026, 3, 5),)


def test_profile_to_snapshot_has_gexbot_shape_and_our_units() -> None:
    chain = chain_for_category(three_expiry_chain(), category="gex_full")
    profile = compute_profile(chain)
    snapshot = profile_to_snapshot(profile, ticker="ES", category="full", source="local")
    assert snapshot.package == "local"
    assert snapshot.category == "gex_full"
    assert snapshot.units == "$ per 1% move"
    assert snapshot.source == "local"
    assert snapshot.timestamp == int(datetime(2026, 3, 4, 15, 30, tzinfo=UTC).timestamp())
    assert snapshot.spot == 6000.0
    assert (snapshot.min_dte, snapshot.sec_min_dte) == (0, 1)
    assert snapshot.sum_gex_oi == pytest.approx(profile.total_oi)
    assert snapshot.sum_gex_vol == pytest.approx(profile.total_vol)
    assert snapshot.zero_gamma == profile.zero_gamma_oi.level
    assert snapshot.strikes == tuple(StrikeRow(row.strike, row.net_vol, row.net_oi, ()) for row in profile.strikes)
    assert [row.strike for row in snapshot.strikes] == [5990.0, 6010.0]
    by_volume = profile_to_snapshot(
        profile, ticker="ES", category="gex_full", source="local", zero_gamma_basis=Basis.VOLUME
    )
    assert by_volume.zero_gamma == profile.zero_gamma_vol.level
    assert snapshot_decode(snapshot_encode(snapshot)) == snapshot


def test_invalid_chain_rows_are_named() -> None:
    with pytest.raises(ChainError, match="open_interest"):
        chain_of(contract(95, PUT, oi=-1))
    with pytest.raises(ChainError, match="spot"):
        chain_of(contract(95, PUT), spot=0.0)
    with pytest.raises(ValueError, match="naive"):
        OptionChain(ticker="SPX", spot=S, as_of=datetime(2026, 6, 1), rows=(), multiplier=100.0)  # noqa: DTZ001
    with pytest.raises(ChainError, match="no options expiring"):
        compute_profile(chain_of())


# --- the synthetic chain ----------------------------------------------------------------------

MARCH_4 = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)


def test_synthetic_chain_is_deterministic_by_seed() -> None:
    first = synthetic_chain(ticker="ES_SPX", spot=6000.0, as_of=MARCH_4, seed=7)
    again = synthetic_chain(ticker="ES_SPX", spot=6000.0, as_of=MARCH_4, seed=7)
    other = synthetic_chain(ticker="ES_SPX", spot=6000.0, as_of=MARCH_4, seed=8)
    assert first.rows == again.rows
    assert [row.open_interest for row in first.rows] != [row.open_interest for row in other.rows]
    assert first.multiplier == 100.0
    assert synthetic_chain(ticker="ES", spot=6000.0, as_of=MARCH_4, seed=7).multiplier == 50.0


@pytest.mark.parametrize(("ticker", "spot", "step"), [("ES_SPX", 6012.25, 5.0), ("NQ", 21003.5, 25.0)])
def test_synthetic_chain_follows_spot(ticker: str, spot: float, step: float) -> None:
    low = synthetic_chain(ticker=ticker, spot=spot, as_of=MARCH_4, seed=1)
    high = synthetic_chain(ticker=ticker, spot=spot * 1.05, as_of=MARCH_4, seed=1)
    for chain, centre in ((low, spot), (high, spot * 1.05)):
        strikes = np.unique(chain.arrays.strike)
        assert (np.round(strikes / step) * step == strikes).all()
        assert strikes.min() >= centre * 0.88 - step
        assert strikes.max() <= centre * 1.12 + step
        assert abs((strikes.min() + strikes.max()) / 2 - centre) < 0.01 * centre
        # Open interest is centred on spot too.
        mean_strike = np.average(chain.arrays.strike, weights=chain.arrays.open_interest)
        assert abs(mean_strike - centre) < 0.02 * centre
    assert compute_profile(high).zero_gamma > compute_profile(low).zero_gamma


@pytest.mark.calendar
def test_synthetic_chain_expiries_and_skew() -> None:
    chain = synthetic_chain(ticker="ES_SPX", spot=6000.0, as_of=MARCH_4, seed=1)
    # 0DTE (Wednesday), Thursday, Friday, Monday, and the March and April monthlies (third Fridays).
    assert chain.expiries() == (
        date(2026, 3, 4),
        date(2026, 3, 5),
        date(2026, 3, 6),
        date(2026, 3, 9),
        date(2026, 3, 20),
        date(2026, 4, 17),
    )
    evening = synthetic_chain(ticker="ES_SPX", spot=6000.0, as_of=datetime(2026, 3, 4, 21, 30, tzinfo=UTC), seed=1)
    assert evening.expiries()[0] == date(2026, 3, 5)
    saturday = synthetic_chain(ticker="ES_SPX", spot=6000.0, as_of=datetime(2026, 3, 7, 15, tzinfo=UTC), seed=1)
    assert saturday.expiries()[0] == date(2026, 3, 9)
    monthly = [row for row in chain.rows if row.expiry == date(2026, 3, 20)]
    iv = {row.strike: row.iv for row in monthly}
    assert iv[5700.0] > iv[6000.0] > iv[6200.0]  # put skew


@pytest.mark.parametrize(
    ("ticker", "spot", "seed"),
    [("ES_SPX", 6000.0, 1), ("ES_SPX", 6137.25, 2), ("ES", 5480.5, 3), ("NQ_NDX", 21000.0, 4), ("NQ", 19876.25, 5)],
)
@pytest.mark.parametrize("category", ["gex_zero", "gex_one", "gex_full"])
def test_synthetic_chain_flips_near_spot_with_distinct_walls(
    ticker: str, spot: float, seed: int, category: str
) -> None:
    chain = chain_for_category(synthetic_chain(ticker=ticker, spot=spot, as_of=MARCH_4, seed=seed), category=category)
    profile = compute_profile(chain)
    assert profile.zero_gamma is not None
    assert abs(profile.zero_gamma - spot) < 0.05 * spot
    assert profile.zero_gamma_vol.level is not None
    assert abs(profile.zero_gamma_vol.level - spot) < 0.05 * spot
    walls = profile.walls_oi
    assert walls.net_max is not None
    assert walls.net_min is not None
    assert walls.net_max != walls.net_min
    # The demo's call wall is above spot and its put wall below, as a trader sees them on index
    # chains (open interest sits out of the money), never both on the strike at spot.
    assert walls.call_side_max is not None
    assert walls.put_side_max is not None
    assert walls.put_side_max <= spot <= walls.call_side_max
    assert walls.put_side_max < walls.call_side_max


def test_synthetic_walls_hold_still_when_spot_ticks() -> None:
    """A strike's open interest does not jump when spot moves a tick, so the walls do not flicker."""
    before = compute_profile(synthetic_chain(ticker="ES_SPX", spot=6040.0, as_of=MARCH_4, seed=3))
    after = compute_profile(synthetic_chain(ticker="ES_SPX", spot=6040.25, as_of=MARCH_4, seed=3))
    assert before.walls_oi == after.walls_oi
    assert after.zero_gamma == pytest.approx(before.zero_gamma, abs=2.0)
