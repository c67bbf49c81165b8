"""Canonical symbols, roll dates and feed forms for 2025-2027 (gex_scid.md section 5)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from apps.core.clock import EXCHANGE_TZ
from apps.marketdata.symbols import (
    Contract,
    SymbolError,
    Venue,
    canonical,
    canonical_check,
    last_trading_day,
    lead_contract,
    occ_option,
    parse_contract,
    roll_date,
    third_friday,
    to_schwab_option,
    to_venue,
)

pytestmark = pytest.mark.calendar

# (contract, third Friday, last trading day, roll date)
CALENDAR = [
    ("ESH25", date(2025, 3, 21), date(2025, 3, 21), date(2025, 3, 13)),
    ("ESM25", date(2025, 6, 20), date(2025, 6, 20), date(2025, 6, 12)),
    ("ESU25", date(2025, 9, 19), date(2025, 9, 19), date(2025, 9, 11)),
    ("ESZ25", date(2025, 12, 19), date(2025, 12, 19), date(2025, 12, 11)),
    ("ESH26", date(2026, 3, 20), date(2026, 3, 20), date(2026, 3, 12)),
    ("ESM26", date(2026, 6, 19), date(2026, 6, 18), date(2026, 6, 11)),  # Juneteenth
    ("ESU26", date(2026, 9, 18), date(2026, 9, 18), date(2026, 9, 10)),
    ("ESZ26", date(2026, 12, 18), date(2026, 12, 18), date(2026, 12, 10)),
    ("ESH27", date(2027, 3, 19), date(2027, 3, 19), date(2027, 3, 11)),
    ("ESM27", date(2027, 6, 18), date(2027, 6, 17), date(2027, 6, 10)),  # Juneteenth (Sat) observed Fri
    ("ESU27", date(2027, 9, 17), date(2027, 9, 17), date(2027, 9, 9)),
    ("ESZ27", date(2027, 12, 17), date(2027, 12, 17), date(2027, 12, 9)),
]


@pytest.mark.parametrize(("code", "friday", "last_day", "roll"), CALENDAR)
def test_expiry_and_roll_calendar(code: str, friday: date, last_day: date, roll: date) -> None:
    contract = parse_contract(code, reference=date(2026, 1, 1))
    assert third_friday(contract.year, contract.month) == friday
    assert last_trading_day(contract) == last_day
    assert roll_date(contract) == roll


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=EXCHANGE_TZ)  # type: ignore[arg-type, misc]


@pytest.mark.parametrize(
    ("moment", "lead"),
    [
        (ny(2025, 12, 10, 17, 59), "ESZ25"),  # before the Globex open of the roll date's trade date
        (ny(2025, 12, 10, 18, 0), "ESH26"),
        (ny(2026, 6, 10, 17, 59), "ESM26"),  # Juneteenth week: roll anchored on the third Friday
        (ny(2026, 6, 10, 18, 0), "ESU26"),
        (ny(2026, 6, 18, 12, 0), "ESU26"),
        (ny(2026, 11, 25, 10, 0), "ESZ26"),
        (ny(2026, 12, 9, 18, 0), "ESH27"),
        (ny(2027, 1, 4, 9, 30), "ESH27"),
        (ny(2027, 12, 8, 17, 0), "ESZ27"),
    ],
)
def test_continuous_alias_resolves_to_the_lead_contract(moment: datetime, lead: str) -> None:
    assert canonical("ES", at=moment) == lead
    assert canonical("NQ", at=moment.astimezone(UTC)) == "NQ" + lead[2:]
    assert lead_contract("ES", moment).code == lead


@pytest.mark.parametrize(
    "form", ["ESZ25", "ESZ5", "/ESZ25", "/ESZ5", "/ESZ25:XCME", "ESZ25_FUT_CME", "ESZ25-CME", " esz25 "]
)
def test_every_feed_form_maps_to_the_canonical_symbol(form: str) -> None:
    assert canonical(form, at=ny(2025, 11, 1, 12, 0)) == "ESZ25"


def test_one_digit_years_resolve_against_the_reference_date() -> None:
    assert parse_contract("/ESU3", reference=date(2023, 6, 1)) == Contract("ES", 2023, 9)
    assert parse_contract("ESZ5", reference=date(2026, 11, 25)) == Contract("ES", 2025, 12)
    assert parse_contract("ESH9", reference=date(2026, 11, 25)) == Contract("ES", 2029, 3)


@pytest.mark.parametrize(
    ("venue", "form"),
    [
        (Venue.CANONICAL, "ESZ25"),
        (Venue.SCHWAB, "/ESZ25"),
        (Venue.TASTYTRADE, "/ESZ5"),
        (Venue.DXLINK, "/ESZ25:XCME"),
        (Venue.SIERRA, "ESZ25_FUT_CME"),
        (Venue.SIERRA_DTC, "ESZ25-CME"),
    ],
)
def test_canonical_maps_to_each_venue_and_back(venue: Venue, form: str) -> None:
    at = ny(2025, 11, 1, 12, 0)
    assert to_venue("ESZ25", venue, at=at) == form
    assert canonical(form, at=at) == "ESZ25"


def test_other_roots_and_exchanges() -> None:
    at = ny(2025, 11, 1, 12, 0)
    assert to_venue("YMZ25", Venue.SIERRA_DTC, at=at) == "YMZ25-CBOT"
    assert to_venue("MNQ", Venue.DXLINK, at=at) == "/MNQZ25:XCME"
    assert canonical("/MESH26", at=at) == "MESH26"


def test_equity_and_index_tickers_pass_through() -> None:
    assert canonical("spy", at=ny(2025, 11, 1, 12, 0)) == "SPY"
    assert canonical("SPX", at=ny(2025, 11, 1, 12, 0)) == "SPX"


def test_occ_options_drop_schwabs_padding_and_get_it_back() -> None:
    at = ny(2025, 11, 1, 12, 0)
    assert canonical("AAPL  251219C00200000", at=at) == "AAPL251219C00200000"
    assert canonical("aapl251219c00200000", at=at) == "AAPL251219C00200000"
    assert canonical_check("AAPL251219C00200000") == "AAPL251219C00200000"
    assert to_schwab_option("AAPL251219C00200000") == "AAPL  251219C00200000"
    assert to_schwab_option("SPXW  251219P06000000") == "SPXW  251219P06000000"
    assert occ_option("ESZ25") is None
    assert occ_option("AAPL251219X00200000") is None, "C or P only"
    with pytest.raises(SymbolError, match="not an OCC option"):
        to_schwab_option("SPY")


def test_garbage_is_refused_naming_the_symbol() -> None:
    with pytest.raises(SymbolError, match="'ES Z25!'"):
        canonical("ES Z25!", at=ny(2025, 11, 1, 12, 0))
    with pytest.raises(SymbolError, match="unknown futures root 'XX'"):
        lead_contract("XX", ny(2025, 11, 1, 12, 0))


@pytest.mark.parametrize("symbol", ["ESZ25", "SPX", "ES_SPX", "ES", "BRK.B", "NQH27"])
def test_canonical_forms_pass_the_check_unchanged(symbol: str) -> None:
    assert canonical_check(symbol) == symbol


@pytest.mark.parametrize(
    ("symbol", "reason"),
    [
        ("ESZ5", "is a feed form"),
        ("/ESZ25", "is not canonical"),
        ("ESZ25_FUT_CME", "is a feed form"),
        ("ESZ25-CME", "is a feed form"),
        ("esz25", "is not canonical"),
        ("HELLO WORLD", "is not canonical"),
        ("../../x", "is not canonical"),
        ("A..B", "is not canonical"),
        ("", "is not canonical"),
    ],
)
def test_anything_else_is_refused_by_name(symbol: str, reason: str) -> None:
    with pytest.raises(SymbolError, match=f"symbol {re.escape(repr(symbol))} {reason}"):
        canonical_check(symbol)
