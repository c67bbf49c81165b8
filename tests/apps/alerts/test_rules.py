"""Each condition, all/any, cooldown, dedup and the session filter, evaluated by the code the
engine and the backtest share (`RuleBook.evaluate`), on captured-shape inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.alerts.inputs import AlertInput
from apps.alerts.models import Source
from apps.alerts.rules import RuleBook, RuleCompileError, rule_compile
from apps.alerts.sources import gex_input, trade_input, uw_market_tide
from apps.alerts.tape import Tape
from apps.gex.snapshots import GEXSnapshot
from apps.marketdata.events import Side, Trade
from tests.apps.alerts.payloads import WEDNESDAY_RTH, flow_alert, option_trade


def book(source: str, *conditions: dict[str, Any], gex: GEXSnapshot | None = None, **spec: Any) -> RuleBook:
    rule = rule_compile(rule_id=1, version=1, name="r", data={"source": source, "conditions": list(conditions), **spec})
    return RuleBook(source=Source(source), rules=[rule], tape=Tape(gex_lookup=lambda *_: gex))


def fired(rules: RuleBook, *items: AlertInput) -> list[str]:
    return [fire.item.position for fire in rules.evaluate(items)]


UW = "uw_option_trades"


def test_premium_at_least_is_exact_on_the_decimal_strings() -> None:
    rules = book(UW, {"kind": "premium_at_least", "min": "1000000.00"})
    assert fired(rules, option_trade("1-0", premium="999999.99"), option_trade("2-0", premium="1000000.00")) == ["2-0"]


def test_ticker_in_set() -> None:
    rules = book(UW, {"kind": "ticker_in", "tickers": ["spx", "SPY"]})
    assert fired(rules, option_trade("1-0", underlying_symbol="SPX"), option_trade("2-0", underlying_symbol="QQQ")) == [
        "1-0"
    ]


def test_call_or_put() -> None:
    rules = book(UW, {"kind": "option_type", "type": "put"})
    assert fired(rules, option_trade("1-0"), option_trade("2-0", option_type="put")) == ["2-0"]


def test_side_ask_or_bid_from_the_tags() -> None:
    rules = book(UW, {"kind": "side", "side": "ask"})
    assert fired(rules, option_trade("1-0"), option_trade("2-0", tags=["ask_side", "bullish"])) == ["2-0"]


def test_side_of_a_flow_alert_is_where_most_premium_traded() -> None:
    rules = book("uw_flow_alerts", {"kind": "side", "side": "bid"})
    assert fired(rules, flow_alert("1-0"), flow_alert("2-0", total_ask_side_prem=10, total_bid_side_prem=20)) == ["2-0"]


def test_dte_range_counts_days_from_the_trade_date_in_new_york() -> None:
    # Executed Wednesday 2024-09-18; the 2024-09-20 expiry is 2 days away, 2024-10-18 is 30.
    rules = book(UW, {"kind": "dte", "min": 0, "max": 7})
    assert fired(
        rules,
        option_trade("1-0", at=WEDNESDAY_RTH),
        option_trade("2-0", at=WEDNESDAY_RTH, expiry="2024-10-18", option_symbol="UVIX241018C00025000"),
    ) == ["1-0"]


@pytest.mark.parametrize(
    ("flag", "hit", "miss"),
    [
        ("sweep", {"report_flags": ["sweep"]}, {}),
        ("multileg", {"multi_vol": 4}, {}),
        ("opening", {"volume": 500, "open_interest": 410}, {}),
    ],
)
def test_sweep_multileg_opening_flags_of_trades(flag: str, hit: dict[str, Any], miss: dict[str, Any]) -> None:
    rules = book(UW, {"kind": "flag", "flag": flag})
    assert fired(rules, option_trade("1-0", **miss), option_trade("2-0", **hit)) == ["2-0"]


def test_flags_of_flow_alerts() -> None:
    rules = book(
        "uw_flow_alerts", {"kind": "flag", "flag": "sweep"}, {"kind": "flag", "flag": "opening", "value": False}
    )
    assert fired(rules, flow_alert("1-0"), flow_alert("2-0", has_sweep=True)) == ["2-0"]


def test_otm_percent_of_calls_and_puts() -> None:
    # Underlying 100: a 110 call and a 90 put are both 10 % out of the money; a 90 call is 10 % in.
    rules = book(UW, {"kind": "otm_percent", "min": 5, "max": 15})
    trades = [
        option_trade("1-0", underlying_price="100", strike="110", option_type="call"),
        option_trade("2-0", underlying_price="100", strike="90", option_type="put"),
        option_trade("3-0", underlying_price="100", strike="90", option_type="call"),
    ]
    assert fired(rules, *trades) == ["1-0", "2-0"]


def test_volume_oi_ratio() -> None:
    rules = book(UW, {"kind": "volume_oi_ratio", "min": 2})
    assert fired(rules, option_trade("1-0", volume=800, open_interest=410), option_trade("2-0", volume=820)) == ["2-0"]


def test_all_needs_every_condition_any_needs_one() -> None:
    conditions = ({"kind": "option_type", "type": "call"}, {"kind": "premium_at_least", "min": "1000"})
    trades = (
        option_trade("1-0", premium="5000"),
        option_trade("2-0", premium="5"),
        option_trade("3-0", option_type="put"),
    )
    assert fired(book(UW, *conditions, match="all"), *trades) == ["1-0"]
    assert fired(book(UW, *conditions, match="any"), *trades) == ["1-0", "2-0"]


def _trade(position: str, price: float, *, at: datetime, symbol: str = "ESZ24", feed: str = "simulator") -> AlertInput:
    ns = int(at.timestamp()) * 1_000_000_000
    return trade_input(f"md:trades:{{{symbol}}}", position, Trade(symbol, ns, ns, price, 1, Side.BUY, feed, 0))


def _snapshot(timestamp: int, *, spot: float, zero_gamma: float, major_pos_vol: float = 6000.0) -> GEXSnapshot:
    return GEXSnapshot(
        ticker="ES_SPX",
        package="classic",
        category="gex_full",
        timestamp=timestamp,
        spot=spot,
        zero_gamma=zero_gamma,
        major_pos_vol=major_pos_vol,
    )


def test_price_crossing_zero_gamma_of_the_snapshot_in_force() -> None:
    level = _snapshot(0, spot=5000, zero_gamma=5000.0)
    rules = book(
        "md_trades", {"kind": "gex_cross", "level": "zero_gamma", "direction": "up", "gex_ticker": "ES_SPX"}, gex=level
    )
    at = WEDNESDAY_RTH
    trades = [_trade("1-0:0", 4999.0, at=at), _trade("1-0:1", 5000.25, at=at), _trade("1-0:2", 4998.0, at=at)]
    assert fired(rules, *trades) == ["1-0:1"]


def test_spot_crossing_a_major_level_in_gex_snapshots() -> None:
    rules = book("gex_snapshots", {"kind": "gex_cross", "level": "major_pos_vol", "direction": "either"})
    snapshots = [_snapshot(1, spot=5990, zero_gamma=5900), _snapshot(2, spot=6010, zero_gamma=5900)]
    items = [gex_input("gex:snapshots:{ES_SPX}", f"{i}-0", snap) for i, snap in enumerate(snapshots, 1)]
    assert fired(rules, *items) == ["2-0"]


def test_gex_level_change() -> None:
    rules = book("gex_snapshots", {"kind": "gex_level_change", "level": "zero_gamma", "min_change": 10})
    snapshots = [
        _snapshot(1, spot=5990, zero_gamma=5900),
        _snapshot(2, spot=5990, zero_gamma=5905),
        _snapshot(3, spot=5990, zero_gamma=5920),
    ]
    items = [gex_input("gex:snapshots:{ES_SPX}", f"{i}-0", snap) for i, snap in enumerate(snapshots, 1)]
    assert fired(rules, *items) == ["3-0"]


def test_spread_between_two_feeds_prices() -> None:
    rules = book(
        "md_trades",
        {
            "kind": "feed_spread",
            "a": {"symbol": "ESZ24", "feed": "schwab"},
            "b": {"symbol": "ESZ24", "feed": "tastytrade"},
            "min": 1.0,
        },
    )
    at = WEDNESDAY_RTH
    trades = [
        _trade("1-0:0", 5000.0, at=at, feed="schwab"),
        _trade("2-0:0", 5000.5, at=at, feed="tastytrade"),
        _trade("3-0:0", 5001.5, at=at, feed="tastytrade"),
    ]
    assert fired(rules, *trades) == ["3-0:0"]


def test_market_tide_net_premium() -> None:
    rules = book("uw_market_tide", {"kind": "net_premium", "of": "call_minus_put", "min": "1000000"})
    rows = [
        {
            "date": "2023-09-08",
            "timestamp": "2023-09-08T09:30:00-04:00",
            "net_call_premium": "660338.0000",
            "net_put_premium": "-547564.0000",
            "net_volume": 23558,
        },
        {
            "date": "2023-09-08",
            "timestamp": "2023-09-08T09:31:00-04:00",
            "net_call_premium": "160338.0000",
            "net_put_premium": "-47564.0000",
            "net_volume": 2358,
        },
    ]
    items = [uw_market_tide("uw:market_agg", f"{i}-0", row) for i, row in enumerate(rows, 1)]
    assert fired(rules, *items) == ["1-0"]


def test_cooldown_per_rule_and_key_by_event_time() -> None:
    rules = book(UW, {"kind": "premium_at_least", "min": "0"}, cooldown_seconds=60)
    start = WEDNESDAY_RTH
    trades = [
        option_trade("1-0", at=start, id="a"),
        option_trade("2-0", at=start + timedelta(seconds=30), id="b"),  # UVIX cooling down
        option_trade("3-0", at=start + timedelta(seconds=30), id="c", underlying_symbol="SPY"),  # another key
        option_trade("4-0", at=start + timedelta(seconds=61), id="d"),
    ]
    assert fired(rules, *trades) == ["1-0", "3-0", "4-0"]


@pytest.mark.parametrize(
    ("cooldown_key", "expected"),
    [
        ("symbol", ["1-0", "3-0"]),  # UVIX's other contract waits with UVIX; SPY does not
        ("contract", ["1-0", "2-0", "3-0"]),  # each contract cools down on its own
        ("rule", ["1-0"]),  # one alert of the rule per minute, whatever it is about
    ],
)
def test_cooldown_key_symbol_contract_or_the_whole_rule(cooldown_key: str, expected: list[str]) -> None:
    rules = book(UW, {"kind": "premium_at_least", "min": "0"}, cooldown_seconds=60, cooldown_key=cooldown_key)
    start = WEDNESDAY_RTH
    trades = [
        option_trade("1-0", at=start, id="a"),
        option_trade("2-0", at=start + timedelta(seconds=10), id="b", option_symbol="UVIX240920P00020000"),
        option_trade(
            "3-0",
            at=start + timedelta(seconds=20),
            id="c",
            underlying_symbol="SPY",
            option_symbol="SPY240920C00560000",
        ),
    ]
    assert fired(rules, *trades) == expected


def test_dedup_window_fires_the_same_input_once() -> None:
    rules = book(UW, {"kind": "premium_at_least", "min": "0"}, dedup_seconds=300)
    start = WEDNESDAY_RTH
    trades = [
        option_trade("1-0", at=start, id="same"),
        option_trade("2-0", at=start + timedelta(seconds=10), id="same"),  # the feed repeated it
        option_trade("3-0", at=start + timedelta(seconds=10), id="other"),
        option_trade("4-0", at=start + timedelta(seconds=301), id="same"),
    ]
    assert fired(rules, *trades) == ["1-0", "3-0", "4-0"]


@pytest.mark.calendar
def test_session_filter_on_wednesday_2024_09_18_and_good_friday_2024_03_29() -> None:
    """Pre-market 08:00, regular 10:00, post-market 17:00, night 21:00 New York on a Wednesday;
    10:00 on Good Friday, an exchange holiday."""
    ny = [datetime(2024, 9, 18, hour, tzinfo=UTC) + timedelta(hours=4) for hour in (8, 10, 17, 21)]
    holiday = datetime(2024, 3, 29, 14, tzinfo=UTC)
    trades = [option_trade(f"{i}-0", at=at, id=str(i)) for i, at in enumerate([*ny, holiday], 1)]
    anything = {"kind": "premium_at_least", "min": "0"}
    assert fired(book(UW, anything, session="regular"), *trades) == ["2-0"]
    assert fired(book(UW, anything, session="extended"), *trades) == ["1-0", "2-0", "3-0"]
    assert fired(book(UW, anything, session="any"), *trades) == ["1-0", "2-0", "3-0", "4-0", "5-0"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"source": UW, "conditions": [{"kind": "premium_at_least", "min": "-1"}]}, "conditions[0].min"),
        ({"source": UW, "conditions": [{"kind": "nope"}]}, "conditions[0]"),
        ({"source": "gex_snapshots", "conditions": [{"kind": "dte", "max": 3}]}, "conditions[0].kind"),
        ({"source": UW, "conditions": [{"kind": "dte", "min": 5, "max": 3}]}, "conditions[0]"),
        ({"source": UW, "actions": [{"kind": "webhook", "url": "ftp://x", "secret": "s" * 16}]}, "actions[0].url"),
        ({"source": UW, "actions": [{"kind": "webhook", "url": "https://x", "secret": "short"}]}, "actions[0].secret"),
        ({"source": "stocks"}, "source"),
        ({"source": UW, "match": "any"}, "conditions"),
    ],
)
def test_a_rule_that_cannot_compile_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleCompileError) as raised:
        rule_compile(rule_id=1, version=1, name="r", data=data)
    assert raised.value.field == field


def test_an_index_by_ticker_keeps_rule_order_and_misses_nothing() -> None:
    spx = rule_compile(
        rule_id=1, version=1, name="spx", data={"source": UW, "conditions": [{"kind": "ticker_in", "tickers": ["SPX"]}]}
    )
    every = rule_compile(rule_id=2, version=1, name="all", data={"source": UW, "conditions": []})
    rules = RuleBook(source=Source.UW_OPTION_TRADES, rules=[spx, every], tape=Tape(gex_lookup=lambda *_: None))
    fires = rules.evaluate([option_trade("1-0", underlying_symbol="SPX"), option_trade("2-0")])
    assert [(fire.rule.name, fire.item.position) for fire in fires] == [("spx", "1-0"), ("all", "1-0"), ("all", "2-0")]
