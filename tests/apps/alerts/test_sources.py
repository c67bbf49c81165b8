"""What the engine reads: the UW events as the UW streamer stores them decode to the same inputs
as UW's raw payloads; an entry no decoder can read is dead-lettered with its reason and the
stream goes on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.alerts.engine import AlertEngine
from apps.alerts.models import AlertEvent
from apps.alerts.services import rule_save
from apps.alerts.sources import STREAM_KINDS, entry_inputs, uw_option_trade
from apps.core import keys
from apps.core.codec import dumps, loads
from apps.core.redis import get_redis
from apps.uw.events import uw_event_encode
from apps.uw.parsing import flow_alert_parse, option_trade_parse
from apps.uw.services.hot_store import uw_events_write
from tests.apps.alerts.payloads import FLOW_ALERT, OPTION_TRADE

KINDS = {kind.name: kind for kind in STREAM_KINDS}


def test_a_stored_option_trade_reads_like_the_raw_payload() -> None:
    stored = uw_event_encode(option_trade_parse(dumps(OPTION_TRADE), ts_recv=1726670167461_000_000))
    (item,) = entry_inputs(KINDS["uw_option_trades"], keys.UW_OPTION_TRADES, "5-0", {b"d": stored})
    raw = uw_option_trade("s", "5-0", dict(OPTION_TRADE))
    fields = ("symbol", "contract", "ts_ns", "premium", "side", "option_type", "expiry", "strike", "underlying_price")
    assert [getattr(item, name) for name in fields] == [getattr(raw, name) for name in fields]
    assert item.premium == Decimal("1.00")
    assert (item.sweep, item.multileg, item.volume, item.open_interest) == (False, False, 105, 410)


def test_a_stored_flow_alert_reads_its_contract_from_the_occ_symbol() -> None:
    stored = uw_event_encode(flow_alert_parse(dumps(FLOW_ALERT), ts_recv=1726670212748_000_000))
    (item,) = entry_inputs(KINDS["uw_flow_alerts"], keys.UW_FLOW_ALERTS, "6-0", {b"d": stored})
    assert (item.symbol, item.option_type, item.strike, str(item.expiry)) == ("DIA", "call", 415.0, "2024-10-18")
    assert (item.premium, item.side) == (Decimal("36466"), "ask")


@pytest.mark.django_db(transaction=True)
def test_bad_entries_are_dead_lettered_and_the_stream_goes_on() -> None:
    rule_save(
        data={
            "name": "any premium",
            "source": "uw_option_trades",
            "conditions": [{"kind": "premium_at_least", "min": "0"}],
        }
    )
    client = get_redis()
    client.set(keys.ALERTS_ENGINE_SINCE, "0")
    client.xadd(keys.UW_OPTION_TRADES, {"d": b"not json"})
    client.xadd(keys.UW_OPTION_TRADES, {"d": dumps({**OPTION_TRADE, "premium": "NaN", "id": "nan"})})
    client.xadd(keys.UW_OPTION_TRADES, {"x": b"no d"})
    uw_events_write(client=client, events=[option_trade_parse(dumps(OPTION_TRADE), ts_recv=1)])
    engine = AlertEngine(client=client)
    engine.refresh_rules(force=True)
    engine.discover(force=True)
    while engine.step():
        pass
    assert [event.input["id"] for event in AlertEvent.objects.all()] == [OPTION_TRADE["id"]]
    parked = client.xrange(keys.dead_letter("alerts"))
    reasons = [fields[b"reason"].decode() for _, fields in parked]
    assert len(reasons) == 3
    assert any("premium" in reason and "finite" in reason for reason in reasons)
    assert any("`d`" in reason for reason in reasons)
    assert all(loads(fields[b"raw"]) is not None for _, fields in parked)
    assert not client.xpending(keys.UW_OPTION_TRADES, keys.ALERTS_GROUP)["pending"]
