"""The local GEX sources: LocalChainSource over a hand-built chain (snapshots, majors, max
change from its own history) and SimulatedGEXSource over the simulator's price in the real Redis,
written by the real hot-store writer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.gex.calculator import compute_profile, profile_to_snapshot
from apps.gex.chain import OptionChain, OptionContract, OptionType, synthetic_chain
from apps.gex.local_source import LocalChainSource, SimulatedGEXSource
from apps.gex.snapshots import UNITS_DOLLARS_PER_1PCT
from apps.gex.sources import GEXDataSource, GEXSourceError
from apps.marketdata.events import Side
from tests.factories import trade, write

T0 = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # a Wednesday; ES and NQ lead contracts: ESH26, NQH26
EXPIRY = date(2026, 3, 20)


def chain_at(as_of: datetime, *, call_volume: int = 100, put_volume: int = 100, extra: int = 0) -> OptionChain:
    """One expiry, strikes 5990 / 6000 / 6010; `extra` contracts of volume on the 6010 call."""
    rows = (
        OptionContract(5990.0, EXPIRY, OptionType.PUT, 3000, put_volume, 0.16),
        OptionContract(6000.0, EXPIRY, OptionType.CALL, 2000, call_volume, 0.15),
        OptionContract(6000.0, EXPIRY, OptionType.PUT, 2000, put_volume, 0.15),
        OptionContract(6010.0, EXPIRY, OptionType.CALL, 3000, call_volume + extra, 0.14),
    )
    return OptionChain(ticker="ES", spot=6000.0, as_of=as_of, rows=rows, multiplier=50.0)


class Chains:
    """A chain provider whose next chain the test sets."""

    def __init__(self, chain: OptionChain) -> None:
        self.chain = chain
        self.asked: list[str] = []

    def __call__(self, ticker: str) -> OptionChain:
        self.asked.append(ticker)
        return self.chain


def test_local_source_is_a_gex_data_source() -> None:
    source = LocalChainSource(Chains(chain_at(T0)), tickers=["ES"])
    assert isinstance(source, GEXDataSource)
    assert isinstance(SimulatedGEXSource(), GEXDataSource)
    assert source.tickers() == ["ES"]
    assert source.name == "local"


def test_local_chain_snapshot_and_majors_are_the_calculators() -> None:
    chains = Chains(chain_at(T0))
    source = LocalChainSource(chains, tickers=["ES"])
    snapshot = source.chain(ticker="ES", package="classic", category="full")
    expected = profile_to_snapshot(compute_profile(chains.chain), ticker="ES", category="gex_full", source="local")
    assert chains.asked == ["ES"]
    assert snapshot.category == "gex_full"
    assert snapshot.strikes == expected.strikes
    assert snapshot.zero_gamma == expected.zero_gamma
    assert snapshot.units == UNITS_DOLLARS_PER_1PCT
    assert snapshot.timestamp == int(T0.timestamp())
    # No history yet: only "current" in max_priors, no priors on the strikes.
    assert all(row.priors == () for row in snapshot.strikes)
    assert len(snapshot.max_priors) == 1

    majors = source.majors(ticker="ES", package="local", category="gex_full")
    assert (majors.mpos_oi, majors.mneg_oi) == (expected.major_pos_oi, expected.major_neg_oi)
    assert (majors.mpos_vol, majors.mneg_vol) == (expected.major_pos_vol, expected.major_neg_vol)
    assert majors.net_gex_oi == pytest.approx(expected.sum_gex_oi)
    assert majors.zero_gamma == expected.zero_gamma
    assert majors.units == UNITS_DOLLARS_PER_1PCT
    assert majors.package == "local"


def test_maxchange_without_history_is_only_current() -> None:
    chains = Chains(chain_at(T0))
    source = LocalChainSource(chains)
    change = source.maxchange(ticker="ES", package="local", category="gex_full")
    snapshot = source.chain(ticker="ES", package="local", category="gex_full")
    largest = max(snapshot.strikes, key=lambda row: abs(row.gex_vol or 0.0))
    assert change.windows == {"current": (largest.strike, largest.gex_vol)}
    assert snapshot.max_priors == ((largest.strike, largest.gex_vol),)


def test_maxchange_and_priors_compare_with_what_was_computed_before() -> None:
    chains = Chains(chain_at(T0))
    source = LocalChainSource(chains)
    first = source.chain(ticker="ES", package="local", category="gex_full")

    # A minute later, 5000 more contracts traded on the 6010 call.
    chains.chain = chain_at(T0 + timedelta(minutes=1), extra=5000)
    second = source.chain(ticker="ES", package="local", category="gex_full")
    old = {row.strike: row.gex_vol for row in first.strikes}
    new = {row.strike: row.gex_vol for row in second.strikes}
    assert new[6010.0] - old[6010.0] > 0

    change = source.maxchange(ticker="ES", package="local", category="gex_full")
    assert set(change.windows) == {"current", "one"}
    strike, value = change.windows["one"]
    assert strike == 6010.0
    assert value == pytest.approx(new[6010.0] - old[6010.0])
    # Priors: the by-volume value a minute ago at each strike; older windows unknown.
    for row in second.strikes:
        assert row.priors == (pytest.approx(old[row.strike]), None, None, None, None)
    assert len(second.max_priors) == 2
    assert second.max_priors[1] == (6010.0, pytest.approx(value))

    # Five minutes after the first: "five" compares with the first, "one" has no snapshot
    # between 2 and 1 minutes ago (60 s tolerance) and is left out, so max_priors stops at current.
    chains.chain = chain_at(T0 + timedelta(minutes=5), call_volume=100, put_volume=4000)
    third = source.chain(ticker="ES", package="local", category="gex_full")
    change = source.maxchange(ticker="ES", package="local", category="gex_full")
    assert set(change.windows) == {"current", "five"}
    strike, value = change.windows["five"]
    latest = {row.strike: row.gex_vol for row in third.strikes}
    expected_strike = max(latest, key=lambda k: abs(latest[k] - old[k]))
    assert (strike, value) == (expected_strike, pytest.approx(latest[expected_strike] - old[expected_strike]))
    assert value < 0  # the put volume pushed it down
    assert len(third.max_priors) == 1


def test_history_is_kept_per_category() -> None:
    chains = Chains(chain_at(T0))
    source = LocalChainSource(chains)
    source.chain(ticker="ES", package="local", category="gex_full")
    chains.chain = chain_at(T0 + timedelta(minutes=1), extra=5000)
    change = source.maxchange(ticker="ES", package="local", category="gex_zero")
    assert set(change.windows) == {"current"}


@pytest.mark.parametrize(
    ("package", "category", "message"),
    [
        ("state", "gex_full", "package 'state'"),
        ("classic", "gamma_zero", "category 'gamma_zero'"),
        ("classic", "gex_one", "no expiry for category gex_one"),
    ],
)
def test_requests_the_local_source_cannot_answer(package: str, category: str, message: str) -> None:
    source = LocalChainSource(Chains(chain_at(T0)))
    with pytest.raises(GEXSourceError, match=message):
        source.chain(ticker="ES", package=package, category=category)


# --- the simulated source against the real Redis ----------------------------------------------


def write_trade(symbol: str, price: float, at: datetime) -> None:
    """A trade at `at` as the simulator streamer stores it."""
    (result,) = write(
        [[trade(0, price, size=2, seq=1, side=Side.BUY, symbol=symbol, feed="simulator", base=at)]], feed="simulator"
    )
    assert result.trades == 1


def simulated(tickers: tuple[str, ...] = ("ES_SPX", "NQ_NDX")) -> SimulatedGEXSource:
    return SimulatedGEXSource(tickers=tickers, clock=lambda: T0, seed=11)


@pytest.mark.calendar
def test_simulated_snapshot_is_computed_at_the_stored_price() -> None:
    write_trade("ESH26", 6012.25, T0 - timedelta(seconds=2))
    source = simulated()
    assert source.futures_symbol("ES_SPX") == "ESH26"
    snapshot = source.chain(ticker="ES_SPX", package="local", category="gex_full")
    assert snapshot.spot == 6012.25
    assert snapshot.units == "$ per 1% move"
    assert snapshot.package == "local"
    assert snapshot.source == "simulated"
    assert snapshot.ticker == "ES_SPX"
    assert snapshot.timestamp == int(T0.timestamp())
    assert snapshot.zero_gamma is not None
    assert abs(snapshot.zero_gamma - 6012.25) < 0.05 * 6012.25
    strikes = [row.strike for row in snapshot.strikes]
    assert min(strikes) < 6012.25 < max(strikes)
    # It is the synthetic chain of that price and instant, computed by the calculator.
    expected = profile_to_snapshot(
        compute_profile(synthetic_chain(ticker="ES_SPX", spot=6012.25, as_of=T0, seed=11)),
        ticker="ES_SPX",
        category="gex_full",
        source="simulated",
    )
    assert snapshot.sum_gex_oi == pytest.approx(expected.sum_gex_oi)
    assert snapshot.major_pos_oi == expected.major_pos_oi


def test_simulated_source_follows_the_price() -> None:
    write_trade("NQH26", 21000.0, T0 - timedelta(seconds=5))
    source = simulated()
    before = source.chain(ticker="NQ_NDX", package="local", category="gex_zero")
    write_trade("NQH26", 21420.5, T0 - timedelta(seconds=1))
    after = source.chain(ticker="NQ_NDX", package="local", category="gex_zero")
    assert (before.spot, after.spot) == (21000.0, 21420.5)
    assert after.zero_gamma is not None
    assert before.zero_gamma is not None
    assert after.zero_gamma > before.zero_gamma
    assert max(row.strike for row in after.strikes) > max(row.strike for row in before.strikes)


def test_missing_price_names_the_symbol() -> None:
    source = simulated()
    with pytest.raises(GEXSourceError, match="NQH26"):
        source.chain(ticker="NQ_NDX", package="local", category="gex_full")
    with pytest.raises(GEXSourceError, match="ESM26"):
        source.majors(ticker="ESM26", package="local", category="gex_full")


def test_tickers_are_those_with_a_price() -> None:
    source = simulated()
    assert source.tickers() == []
    write_trade("ESH26", 6000.0, T0)
    assert source.tickers() == ["ES_SPX"]
    write_trade("NQH26", 21000.0, T0)
    assert source.tickers() == ["ES_SPX", "NQ_NDX"]
    assert simulated(tickers=("ES", "NQ", "ES_SPX")).tickers() == ["ES", "NQ", "ES_SPX"]


def test_simulated_source_refuses_unserved_tickers() -> None:
    with pytest.raises(GEXSourceError, match="'SPY'"):
        simulated().chain(ticker="SPY", package="local", category="gex_full")


@pytest.mark.calendar
def test_the_lead_contract_follows_the_roll() -> None:
    """After the March roll (Thursday 2026-03-12, from 18:00 New York the evening before) ES means ESM26."""
    after_roll = datetime(2026, 3, 11, 23, 0, tzinfo=UTC)  # 19:00 New York on the 11th
    write_trade("ESM26", 6050.0, after_roll)
    source = SimulatedGEXSource(clock=lambda: after_roll)
    assert source.futures_symbol("ES_SPX") == "ESM26"
    snapshot = source.chain(ticker="ES", package="local", category="gex_zero")
    assert snapshot.spot == 6050.0
    # 19:00 New York: the 11th's options expired at 16:00, the nearest expiry is the 12th.
    assert snapshot.min_dte == 1
    with pytest.raises(GEXSourceError, match="ESH26"):
        source.chain(ticker="ESH26", package="local", category="gex_zero")
