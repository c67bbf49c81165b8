"""The market tide from UW's REST endpoint (the fake, over real HTTP) into uw:market_agg: closed
minutes only, each once, the announcement on uw:market_agg:stream, bad rows dead-lettered."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.selectors import dead_letters_list
from apps.uw.rest import UWRestClient
from apps.uw.selectors import market_aggs_after
from apps.uw.services.market_tide import market_tide_poll
from tests.fakes.uw import FAKE_TOKEN, FakeUWThread


def row(minute: str, call: str = "1000.0000") -> dict[str, object]:
    return {
        "date": "2026-11-24",
        "timestamp": f"2026-11-24T10:{minute}:00-05:00",
        "net_call_premium": call,
        "net_put_premium": "-500.0000",
        "net_volume": 100,
    }


def test_a_tuesday_morning_stores_each_closed_minute_once_and_leaves_the_open_one() -> None:
    """Tuesday 2026-11-24, regular session, 10:32:30 then 10:33:05 New York (EST)."""
    client = get_redis()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.UW_MARKET_AGG_CHANNEL)
    pubsub.get_message(timeout=1)
    with FakeUWThread() as (fake, _):
        rest = UWRestClient(base_url=fake.api_url, token=FAKE_TOKEN)
        fake.set_market_tide([row("30", "660338.1234"), row("31"), row("32")])
        first = market_tide_poll(
            rest=rest, client=client, now=datetime(2026, 11, 24, 15, 32, 30, tzinfo=UTC), otm_only=False
        )
        fake.set_market_tide(
            [
                row("30", "660338.1234"),
                row("31"),
                row("32", "2000.0000"),
                row("33"),
                {"date": "2026-11-24", "net_volume": 1},
            ]
        )
        second = market_tide_poll(
            rest=rest, client=client, now=datetime(2026, 11, 24, 15, 33, 5, tzinfo=UTC), otm_only=False
        )
        assert "date=2026-11-24" in fake.rest_requests[0]

    assert (first.stored, first.open_minute_skipped) == (2, 1)
    assert (second.stored, second.open_minute_skipped, second.refused) == (1, 1, 1)
    aggs = [agg for _, agg in market_aggs_after(client=client)]
    assert [agg.ts_event for agg in aggs] == [
        int(datetime(2026, 11, 24, 15, minute, tzinfo=UTC).timestamp()) * 1_000_000_000 for minute in (30, 31, 32)
    ]
    assert aggs[0].net_call_premium == Decimal("660338.1234")
    assert aggs[2].net_call_premium == Decimal("2000.0000"), "the 10:32 row as it stood once the minute closed"
    assert [letter["reason"].split(":")[0] for letter in dead_letters_list(source="uw")] == ["missing_field"]
    notes = [pubsub.get_message(timeout=2) for _ in range(2)]
    assert all(note is not None for note in notes)
