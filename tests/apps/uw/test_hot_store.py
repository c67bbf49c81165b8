"""UW events into the hot store (each id once, a notification per batch) and, through the real
flush, into their lake tables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import orjson
import pytest

from apps.core import keys
from apps.core.redis import get_redis
from apps.storage.connection import lake_connection
from apps.storage.flush import streams_flush
from apps.uw.events import OptionTrade
from apps.uw.parsing import flow_alert_parse, market_tide_parse, option_trade_parse
from apps.uw.selectors import flow_alert_newest_time_ms, flow_alerts_after, option_trades_after
from apps.uw.services.hot_store import uw_events_write

PAYLOADS = Path(__file__).resolve().parents[2] / "fakes" / "uw_payloads"


def trade(number: int, *, premium: str = "1.00") -> OptionTrade:
    payload = orjson.loads((PAYLOADS / "option_trade.json").read_bytes())
    payload.update(id=f"trade-{number}", premium=premium, executed_at=1726670167412 + number)
    return option_trade_parse(orjson.dumps(payload), ts_recv=0)


def test_the_same_id_is_stored_once_and_a_batch_is_announced_once() -> None:
    client = get_redis()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.UW_OPTION_TRADE_CHANNEL)
    pubsub.get_message(timeout=1)

    first = uw_events_write(client=client, events=[trade(1), trade(2), trade(1)])
    again = uw_events_write(client=client, events=[trade(2), trade(3)])

    assert (first.written, first.duplicates) == ({"option_trade": 2}, 1)
    assert (again.written, again.duplicates) == ({"option_trade": 1}, 1)
    assert [t.id for _, t in option_trades_after(client=client)] == ["trade-1", "trade-2", "trade-3"]
    notes = [pubsub.get_message(timeout=2) for _ in range(2)]
    assert [orjson.loads(note["data"])["count"] for note in notes if note] == [2, 1]


def test_flow_alerts_and_market_tide_land_in_their_lake_tables_exactly(tmp_path: Path) -> None:
    client = get_redis()
    raw = (PAYLOADS / "flow_alert.json").read_bytes()
    alert = flow_alert_parse(raw, ts_recv=0)
    later = msgspec.structs.replace(alert, id="alert-2", executed_at=alert.executed_at + 60_000)
    tide = market_tide_parse(
        b'{"date":"2024-09-18","timestamp":"2024-09-18T10:30:00-04:00","net_call_premium":"660338.1234",'
        b'"net_put_premium":"-547564.0000","net_volume":23558}',
        ts_recv=0,
    )
    uw_events_write(client=client, events=[alert, later, tide, trade(7, premium="123456789.0123456789")])
    uw_events_write(client=client, events=[alert, tide])  # repeats: refused
    assert flow_alert_newest_time_ms(client=client) == later.executed_at
    assert [a.id for _, a in flow_alerts_after(client=client)] == [alert.id, "alert-2"]

    results = streams_flush(client=client, lake=tmp_path)

    assert sorted(r.rows for r in results) == [1, 1, 2]
    assert list(tmp_path.glob("uw_flow_alerts/date=2024-09-18/symbol=UW/*.parquet"))
    db = lake_connection(tmp_path)
    assert db.execute(
        "select id, underlying_price, bid, strike, has_sweep from uw_flow_alerts order by id"
    ).fetchall() == [
        (alert.id, Decimal("415.981"), Decimal("7.15"), Decimal(415), False),
        ("alert-2", Decimal("415.981"), Decimal("7.15"), Decimal(415), False),
    ]
    assert db.execute("select premium, side, tags from uw_option_trades").fetchall() == [
        (Decimal("123456789.0123456789"), "bid", ["bid_side", "bearish", "etf"])
    ]
    assert db.execute("select net_call_premium, net_volume, day from uw_market_agg").fetchone()[:2] == (
        Decimal("660338.1234"),
        23558,
    )


@pytest.mark.django_db
def test_the_uw_tables_have_retention_policies_in_the_admin() -> None:
    from apps.storage.models import RetentionPolicy
    from apps.storage.registry import retention_categories

    assert {"option_trade", "flow_alert", "market_agg"} <= set(retention_categories())
    assert set(
        RetentionPolicy.objects.filter(data_type__in=["option_trade", "flow_alert", "market_agg"]).values_list(
            "data_type", flat=True
        )
    ) == {"option_trade", "flow_alert", "market_agg"}
