"""Captured-shape Unusual Whales payloads (../shared/reference/protocols.md §3.2) and helpers to
build inputs from them, with the fields a test changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apps.alerts.inputs import AlertInput
from apps.alerts.sources import uw_flow_alert, uw_option_trade

OPTION_TRADE: dict[str, Any] = {
    "id": "a4dc6020-0611-4c23-b0bc-99944c7348ab",
    "underlying_symbol": "UVIX",
    "executed_at": 1726670167412,
    "nbbo_bid": "0.01",
    "nbbo_ask": "0.09",
    "size": 1,
    "price": "0.01",
    "option_symbol": "UVIX240920C00025000",
    "created_at": 1726670167461,
    "report_flags": [],
    "tags": ["bid_side", "bearish", "etf"],
    "expiry": "2024-09-20",
    "option_type": "call",
    "open_interest": 410,
    "strike": "25.0000000000",
    "premium": "1.00",
    "volume": 105,
    "underlying_price": "4.9261",
    "ewma_nbbo_ask": "0.09",
    "ewma_nbbo_bid": "0.01",
    "implied_volatility": "8.46381958089369",
    "delta": "0.01132315610146539",
    "theta": "-0.02291485773244166",
    "gamma": "0.00962272181839715",
    "vega": "0.0001082948756510385",
    "rho": "0.000002508438316242667",
    "theo": "0.01",
    "trade_code": "slan",
    "exchange": "XCBO",
    "ask_vol": 10,
    "bid_vol": 95,
    "no_side_vol": 0,
    "mid_vol": 0,
    "multi_vol": 0,
    "stock_multi_vol": 0,
}

FLOW_ALERT: dict[str, Any] = {
    "rule_id": "5ce5ec11-0000-0000-0000-000000000000",
    "rule_name": "RepeatedHitsDescendingFill",
    "ticker": "DIA",
    "option_chain": "DIA241018C00415000",
    "underlying_price": 415.981,
    "volume": 106,
    "total_size": 50,
    "total_premium": 36466,
    "total_ask_side_prem": 36466,
    "total_bid_side_prem": 0,
    "start_time": 1726670212648,
    "end_time": 1726670212748,
    "url": "",
    "price": 7.3,
    "has_multileg": False,
    "has_sweep": False,
    "has_floor": False,
    "open_interest": 575,
    "all_opening_trades": False,
    "id": "29ed5829-0000-0000-0000-000000000000",
    "has_singleleg": True,
    "volume_oi_ratio": 0,
    "trade_ids": ["417f0cd6-0000-0000-0000-000000000000"],
    "trade_count": 7,
    "expiry_count": 1,
    "executed_at": 1726670212748,
    "ask_vol": 52,
    "bid_vol": 49,
    "no_side_vol": 0,
    "mid_vol": 5,
    "multi_vol": 0,
    "stock_multi_vol": 0,
    "upstream_condition_details": ["auto", "slan"],
    "exchanges": ["XCBO", "MPRL"],
    "bid": "7.15",
    "ask": "7.3",
}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def option_trade(position: str = "1-0", *, at: datetime | None = None, **changes: Any) -> AlertInput:
    payload = {**OPTION_TRADE, **changes}
    if at is not None:
        payload["executed_at"] = ms(at)
    return uw_option_trade("uw:option_trade", position, payload)


def flow_alert(position: str = "1-0", *, at: datetime | None = None, **changes: Any) -> AlertInput:
    payload = {**FLOW_ALERT, **changes}
    if at is not None:
        payload["executed_at"] = ms(at)
    return uw_flow_alert("uw:flow_alert", position, payload)


# A regular-session Wednesday: 2024-09-18 14:00 New York.
WEDNESDAY_RTH = datetime(2024, 9, 18, 18, 0, tzinfo=UTC)
