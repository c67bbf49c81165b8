"""The data endpoints return what the real writer stored, from the hot store and the lake."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.api.inputs import MAX_RANGE
from apps.api.schemas import Interval
from apps.core import keys
from apps.core.embedded_redis import free_port
from apps.core.redis import get_redis, reset_pools
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Level, Quote, Side
from apps.marketdata.selectors import trades_last
from apps.storage.flush import streams_flush
from apps.storage.lake_bars import INTERVAL_NS
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import T0, ns, trade, write

pytestmark = pytest.mark.django_db
RANGE = {"start": T0.isoformat(), "end": (T0 + timedelta(hours=1)).isoformat()}


def test_last_ticks_are_the_trades_written_oldest_first(reader: Caller) -> None:
    write([[trade(1, 6000.25, size=2, seq=1), trade(2, 6000.5, seq=2)], [trade(3, 6000.0, size=5, seq=3)]])
    response = reader.get("/api/ticks/last", symbol="esz26", count=2)
    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "ESZ26"
    assert [(t["price"], t["size"], t["side"], t["feed"]) for t in body["trades"]] == [
        (6000.5, 1, "sell", "test"),
        (6000.0, 5, "buy", "test"),
    ]
    last = body["trades"][-1]
    assert last["ts_event"] == ns(3)
    assert last["time"] == "2026-11-24T14:30:03Z"
    assert last["id"].endswith(":0")
    assert reader.get("/api/ticks/last", symbol="NQZ26").json()["trades"] == [], "no data: an empty list"


def test_pages_of_ticks_return_every_trade_once_across_the_lake_and_the_hot_store(reader: Caller, lake: Path) -> None:
    # 300 trades over five minutes, several in the same millisecond, in blocks of 7.
    flushed = [
        trade(index * 0.5 if index % 3 else (index - 1) * 0.5, 6000 + index % 9 * 0.25, seq=index)
        for index in range(1, 301)
    ]
    write([flushed[start : start + 7] for start in range(0, 300, 7)])
    streams_flush(client=get_redis(), lake=lake)
    client = get_redis()
    key = keys.trades("ESZ26")
    last_flushed = client.xrevrange(key, count=1)[0][0].decode()
    client.xtrim(
        key, minid=last_flushed, approximate=False
    )  # the older part now lives only in the lake, its last block in both
    assert 0 < len(trades_last(symbol="ESZ26", count=10_000)) < 300
    hot_only = [trade(150 + index * 0.25, 6010.0, seq=1000 + index) for index in range(1, 121)]
    write([hot_only[start : start + 11] for start in range(0, 120, 11)])

    seen: list[dict[str, object]] = []
    cursor = None
    pages = 0
    while True:
        params = {"symbol": "ESZ26", "limit": 37, **RANGE, **({"cursor": cursor} if cursor else {})}
        body = reader.get("/api/ticks", **params).json()
        seen += body["trades"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == -(-420 // 37)
    times = [t["ts_event"] for t in seen]
    assert times == sorted(times), "pages run in time order"
    assert len({t["id"] for t in seen}) == len(seen) == 420, "each trade exactly once"
    written = sorted((t.ts_event, t.price) for t in flushed + hot_only)
    assert sorted((t["ts_event"], t["price"]) for t in seen) == written


def test_bad_input_is_a_422_naming_the_field(reader: Caller) -> None:
    cases = [
        ("/api/ticks/last", {"symbol": "ESZ26", "count": 0}, "count"),
        ("/api/ticks/last", {"symbol": "ES Z26!"}, "symbol"),
        ("/api/ticks/last", {}, "symbol"),
        ("/api/ticks", {"symbol": "ESZ26", "start": "2026-11-24T14:30:00"}, "start"),
        ("/api/ticks", {"symbol": "ESZ26", "start": "yesterday"}, "start"),
        ("/api/ticks", {"symbol": "ESZ26", "start": "1969-12-31T00:00:00Z"}, "start"),
        ("/api/ticks", {"symbol": "ESZ26", "cursor": "nonsense"}, "cursor"),
        ("/api/bars", {"symbol": "ESZ26", "interval": "7m"}, "interval"),
        ("/api/depth/compare", {"symbol": "ESZ26", "feeds": "schwab,schwab"}, "feeds"),
        ("/api/depth/book", {"symbol": "ESZ26", "feed": "bloomberg"}, "feed"),
        ("/api/depth/compare", {"symbol": "ESZ26", "feeds": "schwab"}, "feeds"),
        ("/api/gex/latest", {"ticker": "ES_SPX", "category": "gex_two"}, "category"),
        ("/api/gex/history", {"ticker": "ES_SPX", "cursor": "5-"}, "cursor"),
        ("/api/gex/at", {"ticker": "ES SPX", "at": "2026-11-24T15:00:00Z"}, "ticker"),
    ]
    for path, params, field in cases:
        response = reader.get(path, **params)
        assert response.status_code == 422, (path, params, response.content)
        named = [entry["loc"][-1] for entry in response.json()["detail"]]
        assert field in named, (path, params, response.json())


def iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def test_every_range_the_schema_allows_is_answered(reader: Caller) -> None:
    """A schema cannot relate two parameters, so no pair of them is refused: a range longer than
    the limit is cut at start + limit, and an end before start holds nothing."""
    write([[trade(1, 6000.0)]])
    backwards = reader.get("/api/ticks", symbol="ESZ26", start=iso(10), end=iso(0))
    assert backwards.status_code == 200
    assert backwards.json()["trades"] == []
    long = reader.get("/api/ticks", symbol="ESZ26", start=iso(0), end="2099-01-01T00:00:00Z")
    assert long.status_code == 200
    assert [item["price"] for item in long.json()["trades"]] == [6000.0]
    # The answer says where it was cut, so a client sees what it did not get and asks again.
    served = long.json()
    assert datetime.fromisoformat(served["start"]) == T0
    assert datetime.fromisoformat(served["end"]) == T0 + MAX_RANGE
    only_start = reader.get("/api/bars", symbol="ESZ26", interval="1s", start=iso(0))
    assert only_start.status_code == 200
    assert len(only_start.json()["bars"]) == 1


def test_quotes_latest_and_in_a_range(reader: Caller) -> None:
    write([[Quote("ESZ26", ns(1), ns(1), 6000.0, 10, 6000.25, 12, "test")]])
    write([[Quote("ESZ26", ns(2), ns(2), 6000.25, 3, 6000.5, 4, "test")]])
    latest = reader.get("/api/quotes/latest", symbol="ESZ26")
    assert latest.status_code == 200
    assert {k: latest.json()[k] for k in ("symbol", "bid_price", "bid_size", "ask_price", "ask_size")} == {
        "symbol": "ESZ26",
        "bid_price": 6000.25,
        "bid_size": 3,
        "ask_price": 6000.5,
        "ask_size": 4,
    }
    assert reader.get("/api/quotes/latest", symbol="NQZ26").status_code == 404
    page = reader.get("/api/quotes", symbol="ESZ26", limit=1, **RANGE).json()
    assert [q["bid_price"] for q in page["quotes"]] == [6000.0]
    rest = reader.get("/api/quotes", symbol="ESZ26", limit=1, cursor=page["next_cursor"], **RANGE).json()
    assert [q["bid_price"] for q in rest["quotes"]] == [6000.25]
    assert rest["next_cursor"] is None


def test_the_book_of_a_feed_and_two_feeds_compared(reader: Caller) -> None:
    write(
        [
            [DepthSnapshot("ESZ26", ns(1), ns(1), (Level(6000.0, 5), Level(5999.75, 8)), (Level(6000.25, 7),), "test")],
            [DepthUpdate("ESZ26", ns(2), ns(2), Side.BUY, 6000.0, 0, "test")],
        ]
    )
    write([[DepthSnapshot("ESZ26", ns(3), ns(3), (Level(6000.0, 1),), (Level(6000.5, 2),), "schwab")]], feed="schwab")
    before_update = reader.get(
        "/api/depth/book", symbol="ESZ26", feed="test", at=(T0 + timedelta(seconds=1.5)).isoformat()
    )
    assert before_update.json()["bids"] == [[6000.0, 5], [5999.75, 8]]
    after = reader.get(
        "/api/depth/book", symbol="ESZ26", feed="test", at=(T0 + timedelta(seconds=5)).isoformat()
    ).json()
    assert after["bids"] == [[5999.75, 8]]
    assert after["asks"] == [[6000.25, 7]]
    assert after["last_update"] == "2026-11-24T14:30:02Z"
    latest_feed = reader.get("/api/depth/book", symbol="ESZ26", at=(T0 + timedelta(seconds=5)).isoformat()).json()
    assert latest_feed["feed"] == "schwab"
    compared = reader.get(
        "/api/depth/compare", symbol="ESZ26", feeds="test,schwab", at=(T0 + timedelta(seconds=5)).isoformat()
    ).json()
    assert compared["books"]["test"]["bids"] == [[5999.75, 8]]
    assert compared["books"]["schwab"]["asks"] == [[6000.5, 2]]
    assert reader.get("/api/depth/book", symbol="ESZ26", feed="test", at=T0.isoformat()).status_code == 404


def test_bars_at_any_interval_merge_the_lake_and_the_hot_store(reader: Caller, lake: Path) -> None:
    write([[trade(1, 6000.0, size=2), trade(20, 6002.0), trade(59, 5999.0, size=3)], [trade(61, 6001.0, size=4)]])
    streams_flush(client=get_redis(), lake=lake)
    # Not flushed yet: more of minute 1, and minute 2.
    write([[trade(70, 6004.0, size=2), trade(119, 6000.5)], [trade(125, 6003.0)]])
    minute = reader.get(
        "/api/bars", symbol="ESZ26", interval="1m", start=T0.isoformat(), end=(T0 + timedelta(minutes=5)).isoformat()
    )
    assert minute.status_code == 200
    bars = [(b["time"], b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in minute.json()["bars"]]
    assert bars == [
        ("2026-11-24T14:30:00Z", 6000.0, 6002.0, 5999.0, 5999.0, 6),
        ("2026-11-24T14:31:00Z", 6001.0, 6004.0, 6000.5, 6000.5, 7),
        ("2026-11-24T14:32:00Z", 6003.0, 6003.0, 6003.0, 6003.0, 1),
    ]
    five = reader.get(
        "/api/bars", symbol="ESZ26", interval="5m", start=T0.isoformat(), end=(T0 + timedelta(minutes=5)).isoformat()
    ).json()
    assert [(b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in five["bars"]] == [
        (6000.0, 6004.0, 5999.0, 6003.0, 14)
    ]
    flushed_all = streams_flush(client=get_redis(), lake=lake)
    assert sum(result.rows for result in flushed_all) == 3
    again = reader.get(
        "/api/bars", symbol="ESZ26", interval="1m", start=T0.isoformat(), end=(T0 + timedelta(minutes=5)).isoformat()
    )
    assert [(b["time"], b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in again.json()["bars"]] == bars


def _snapshot(seconds: int, spot: float) -> GEXSnapshot:
    return GEXSnapshot(
        ticker="ES_SPX",
        package="classic",
        category="gex_zero",
        timestamp=int(T0.timestamp()) + seconds,
        spot=spot,
        zero_gamma=spot - 10,
        strikes=(StrikeRow(spot - 5, -1.5, 2.0, (1.0, None)),),
    )


def test_gex_latest_at_and_history(reader: Caller) -> None:
    for seconds, spot in [(0, 6000.0), (60, 6001.0), (120, 6002.0)]:
        snapshot_record(snapshot=_snapshot(seconds, spot))
    latest = reader.get("/api/gex/latest", ticker="es_spx", category="zero")
    assert latest.status_code == 200
    assert latest.json()["spot"] == 6002.0
    assert latest.json()["strikes"] == [{"strike": 5997.0, "gex_vol": -1.5, "gex_oi": 2.0, "priors": [1.0, None]}]
    at = reader.get("/api/gex/at", ticker="ES_SPX", at=(T0 + timedelta(seconds=90)).isoformat())
    assert at.json()["spot"] == 6001.0
    assert reader.get("/api/gex/at", ticker="ES_SPX", at=(T0 - timedelta(seconds=1)).isoformat()).status_code == 404
    assert reader.get("/api/gex/latest", ticker="NQ_NDX").status_code == 404
    first = reader.get("/api/gex/history", ticker="ES_SPX", limit=2, **RANGE).json()
    assert [s["spot"] for s in first["snapshots"]] == [6000.0, 6001.0]
    rest = reader.get("/api/gex/history", ticker="ES_SPX", limit=2, cursor=first["next_cursor"], **RANGE).json()
    assert [s["spot"] for s in rest["snapshots"]] == [6002.0]
    assert rest["next_cursor"] is None


def test_every_interval_the_lake_aggregates_is_offered() -> None:
    assert [interval.value for interval in Interval] == list(INTERVAL_NS)


def test_redis_out_of_reach_is_a_503_not_a_500(reader: Caller, settings: Settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    reset_pools()
    response = reader.get("/api/ticks/last", symbol="ESZ26")
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]
