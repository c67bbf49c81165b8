"""UW frames -> events, without a socket: acks told apart from data in both framings, Phoenix
control events, GEX payloads as snapshots, and the kinds bad input is refused under."""

from __future__ import annotations

import orjson
import pytest

from apps.gex.uw_exposure import UWStrikeExposure, uw_strikes_snapshot
from apps.uw.events import FlowAlert, MarketAgg, OptionTrade, UnderlyingPrice
from streamers.feed import MalformedMessageError
from streamers.uw.framing import KEEPALIVE, BackfilledAlerts, parse
from tests.fakes.uw import flow_alert, gex_payload, option_trade


def frame(*parts: object) -> bytes:
    return orjson.dumps(list(parts))


def test_acks_and_heartbeat_replies_are_not_data() -> None:
    assert parse(frame("option_trades", {"response": {}, "status": "ok"}), ts_recv=0) == []
    assert parse(frame("1", "1", "flow-alerts", "phx_reply", {"status": "ok", "response": {}}), ts_recv=0) == []
    assert parse(frame(None, "7", "phoenix", "phx_reply", {"status": "ok", "response": {}}), ts_recv=0) == []
    assert parse(frame("1", "1", "flow-alerts", "phx_error", {"reason": "channel_crash"}), ts_recv=0) == []
    assert parse(KEEPALIVE, ts_recv=0) == []


def test_a_refused_join_is_bad_input_named_by_its_channel() -> None:
    with pytest.raises(MalformedMessageError, match="lit_trades") as refused:
        parse(frame("lit_trades", {"response": {}, "status": "error"}), ts_recv=0)
    assert refused.value.kind == "join_refused"


def test_data_in_both_framings_becomes_the_same_event() -> None:
    trade = option_trade(n=1)
    uw = parse(frame("option_trades:UVIX", trade), ts_recv=1)
    phoenix = parse(frame(None, None, "option_trades", "broadcast", trade), ts_recv=1)
    assert uw == phoenix
    assert isinstance(uw[0], OptionTrade)
    [alert] = parse(frame("flow-alerts", flow_alert(n=2)), ts_recv=1)
    assert isinstance(alert, FlowAlert)
    [price] = parse(frame("price:SPY", {"close": "562.82", "time": 1726670327692, "vol": 6015555}), ts_recv=1)
    assert isinstance(price, UnderlyingPrice)
    assert (price.ticker, str(price.close)) == ("SPY", "562.82")
    tide = {
        "timestamp": "2026-11-24T10:30:00-05:00",
        "net_call_premium": "1.5",
        "net_put_premium": "-2",
        "net_volume": 3,
    }
    [agg] = parse(frame("market_tide", tide), ts_recv=1)
    assert isinstance(agg, MarketAgg)
    assert agg.origin == "socket"


def test_backfilled_alerts_are_marked_as_from_rest() -> None:
    alerts = parse(BackfilledAlerts((orjson.dumps(flow_alert(n=1)), orjson.dumps(flow_alert(n=2)))), ts_recv=0)
    assert [(a.id, a.origin) for a in alerts] == [("alert-1", "rest"), ("alert-2", "rest")]  # type: ignore[union-attr]


def test_uw_gex_is_a_second_gex_source_and_strike_rows_make_one_snapshot() -> None:
    [spot] = parse(frame("gex:SPX", gex_payload(at_ms=1_796_000_000_000)), ts_recv=0)
    assert (spot.source, spot.package, spot.category, spot.timestamp) == (
        "unusual_whales",
        "uw",
        "uw_spot",
        1_796_000_000,
    )  # type: ignore[union-attr]
    assert spot.sum_gex_oi is not None  # type: ignore[union-attr]
    rows = []
    for strike, call, put in (("5900", "300", "-100"), ("5950", "50", "-400"), ("6000", "10", "-5")):
        payload = {"ticker": "SPX", "timestamp": 1_796_000_000_000, "strike": strike, "price": "5912.4",
                   "call_gamma_oi": call, "put_gamma_oi": put, "call_gamma_vol": call, "put_gamma_vol": "0"}  # fmt: skip
        [row] = parse(frame("gex_strike:SPX", payload), ts_recv=0)
        assert isinstance(row, UWStrikeExposure)
        rows.append(row)
    snapshot = uw_strikes_snapshot(rows)
    assert [(r.strike, r.gex_oi) for r in snapshot.strikes] == [(5900.0, 200.0), (5950.0, -350.0), (6000.0, 5.0)]
    assert (snapshot.major_pos_oi, snapshot.major_neg_oi, snapshot.sum_gex_oi) == (5900.0, 5950.0, -145.0)
    assert snapshot.category == "uw_strike"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"{not json", "malformed_frame"),
        (b'{"channel": "option_trades"}', "malformed_frame"),
        (frame("a", "b", "c"), "malformed_frame"),
        (frame(7, {}), "malformed_frame"),
        (frame("off_lit_trades", {"price": "1"}), "unknown_channel"),
        (frame("option_trades", {**option_trade(n=1), "size": "1"}), "wrong_type"),
        (frame("flow-alerts", {k: v for k, v in flow_alert(n=1).items() if k != "ticker"}), "missing_field"),
        (frame("gex:SPX", {**gex_payload(), "ticker": "SPY"}), "bad_gex"),
    ],
)
def test_bad_frames_are_refused_by_kind(raw: bytes, kind: str) -> None:
    with pytest.raises(MalformedMessageError) as refused:
        parse(raw, ts_recv=0)
    assert refused.value.kind == kind
