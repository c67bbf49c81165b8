"""UW payloads -> events: exact decimals, OCC symbols split, bad input refused by kind and place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from apps.uw.events import option_trade_decode, uw_event_decode, uw_event_encode
from apps.uw.parsing import (
    PayloadError,
    flow_alert_parse,
    market_tide_parse,
    occ_symbol_parse,
    option_trade_parse,
)

PAYLOADS = Path(__file__).resolve().parents[2] / "fakes" / "uw_payloads"
TRADE = (PAYLOADS / "option_trade.json").read_bytes()
ALERT = (PAYLOADS / "flow_alert.json").read_bytes()


def _with(raw: bytes, **changes: object) -> bytes:
    payload = orjson.loads(raw)
    for key, value in changes.items():
        if value is ...:
            del payload[key]
        else:
            payload[key] = value
    return orjson.dumps(payload)


def test_an_option_trade_keeps_every_decimal_exactly_as_sent() -> None:
    trade = option_trade_parse(TRADE, ts_recv=5)
    assert trade.premium == Decimal("1.00")
    assert str(trade.premium) == "1.00"
    assert str(trade.strike) == "25.0000000000"
    assert str(trade.underlying_price) == "4.9261"
    assert str(trade.rho) == "0.000002508438316242667"
    assert trade.ts_event == 1726670167412 * 1_000_000
    assert trade.expiry == date(2024, 9, 20)
    assert trade.option_type == "call"
    assert trade.side == "bid"
    assert trade.days_to_expiry(on=date(2024, 9, 18)) == 2
    # Stored and read back, nothing moves: Decimals travel as strings.
    again = option_trade_decode(uw_event_encode(trade))
    assert again == trade
    assert str(again.premium) == "1.00"


def test_a_flow_alert_keeps_its_json_numbers_exact_and_splits_the_option_symbol() -> None:
    alert = flow_alert_parse(ALERT, ts_recv=5)
    assert alert.underlying_price == Decimal("415.981")
    assert str(alert.underlying_price) == "415.981"
    assert alert.total_premium == Decimal(36466)
    assert alert.bid == Decimal("7.15")
    assert alert.ask == Decimal("7.3")
    assert (alert.option_type, alert.expiry, alert.strike) == ("call", date(2024, 10, 18), Decimal(415))
    assert uw_event_decode(uw_event_encode(alert)) == alert


def test_occ_symbols_with_fractional_strikes() -> None:
    assert occ_symbol_parse("SPXW261218P05912500") == ("SPXW", date(2026, 12, 18), "put", Decimal("5912.5"))


@pytest.mark.parametrize(
    ("raw", "kind", "location"),
    [
        (_with(TRADE, premium=1.0), "wrong_type", "$.premium"),  # a number where UW sends a string
        (_with(TRADE, id=...), "missing_field", "$.id"),
        (_with(TRADE, price="abc"), "bad_number", "$.price"),
        (_with(TRADE, price="0.000000000001"), "bad_number", "$.price"),  # past the lake's 10 places
        (_with(TRADE, option_type="straddle"), "bad_option_type", "$.option_type"),
        (_with(ALERT, bid=7.15), "wrong_type", "$.bid"),
        (_with(ALERT, option_chain="DIA"), "bad_option_symbol", "$.option_chain"),
        (b"{not json", "invalid_json", "$"),
    ],
)
def test_bad_payloads_are_refused_naming_the_kind_and_the_field(raw: bytes, kind: str, location: str) -> None:
    parse = flow_alert_parse if b"option_chain" in raw else option_trade_parse
    with pytest.raises(PayloadError) as refused:
        parse(raw, ts_recv=0)
    assert (refused.value.kind, refused.value.location) == (kind, location)


def test_a_market_tide_row_is_placed_at_its_minute_in_utc() -> None:
    row = b'{"date":"2023-09-08","timestamp":"2023-09-08T09:30:00-04:00","net_call_premium":"660338.0000","net_put_premium":"-547564.0000","net_volume":23558}'
    agg = market_tide_parse(row, ts_recv=0)
    assert agg.ts_event == 1694179800 * 1_000_000_000  # 13:30 UTC
    assert agg.net_put_premium == Decimal("-547564.0000")
    assert agg.id == f"market_tide:1m:all:{agg.ts_event}"
