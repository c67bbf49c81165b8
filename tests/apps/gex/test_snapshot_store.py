"""Recording GEX snapshots in Redis and reading them back from Redis and the lake."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from msgspec.structs import replace

from apps.core import keys
from apps.core.codec import loads
from apps.core.redis import get_redis
from apps.gex.lake_reads import lake_gex_at, trades_with_gex
from apps.gex.selectors import snapshot_at, snapshot_latest, snapshots_between
from apps.gex.services.snapshots import snapshot_record, snapshots_record_many
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from apps.storage.flush import streams_flush
from tests.factories import T0, trade, write


def snap(seconds: int, spot: float, *, category: str = "gex_zero", ticker: str = "ES_SPX") -> GEXSnapshot:
    return GEXSnapshot(
        ticker=ticker,
        package="classic",
        category=category,
        timestamp=int(T0.timestamp()) + seconds,
        spot=spot,
        zero_gamma=spot - 10,
        major_pos_vol=spot + 20,
        major_neg_vol=spot - 30,
        sum_gex_vol=1234.5,
        strikes=(StrikeRow(spot - 5, -1.5, 2.0, (1.0, None)), StrikeRow(spot + 5, 3.25, None, ())),
    )


def test_a_snapshot_is_cached_streamed_and_announced_once() -> None:
    client = get_redis()
    pubsub = client.pubsub()
    pubsub.subscribe(keys.GEX_SNAPSHOT_CHANNEL)
    pubsub.get_message(timeout=1)
    first = snap(0, 6000.0)
    recorded = snapshot_record(snapshot=first)
    assert recorded is not None
    assert snapshot_record(snapshot=first) is None, "the same timestamp is not stored twice"
    assert client.xlen(keys.gex_snapshots("ES_SPX")) == 1
    assert snapshot_latest(ticker="ES_SPX", category="zero") == first
    message = pubsub.get_message(timeout=2)
    assert message is not None
    assert loads(message["data"])["stream_id"] == recorded.stream_id
    assert pubsub.get_message(timeout=0.2) is None
    pubsub.close()


def test_history_never_replaces_the_latest_and_is_deduplicated() -> None:
    live = snap(100, 6010.0)
    snapshot_record(snapshot=live)
    history = [snap(10, 6001.0), snap(20, 6002.0), snap(100, 6010.0)]
    assert snapshots_record_many(snapshots=history) == 2
    assert snapshots_record_many(snapshots=history) == 0
    assert snapshot_latest(ticker="ES_SPX", category="gex_zero") == live
    assert get_redis().xlen(keys.gex_snapshots("ES_SPX")) == 3


def test_snapshot_at_and_between_span_the_lake_and_redis(tmp_path: Path) -> None:
    for seconds, spot in [(0, 6000.0), (60, 6001.0), (120, 6002.0)]:
        snapshot_record(snapshot=snap(seconds, spot))
        snapshot_record(snapshot=snap(seconds, spot + 100, category="gex_full"))
    streams_flush(client=get_redis(), lake=tmp_path)
    assert list(tmp_path.glob("gex_snapshots/date=2026-11-24/symbol=ES_SPX/*.parquet"))
    snapshot_record(snapshot=snap(180, 6003.0))  # only in Redis
    get_redis().delete(keys.gex_snapshots("ES_SPX"))  # what was flushed now lives only in the lake
    snapshot_record(snapshot=snap(240, 6004.0))

    at = snapshot_at(ticker="ES_SPX", category="gex_zero", at=T0 + timedelta(seconds=90), lake=tmp_path)
    assert at is not None
    assert at == snap(60, 6001.0), "the lake gives back the snapshot exactly as recorded"
    assert snapshot_at(ticker="ES_SPX", category="gex_zero", at=T0 - timedelta(seconds=1), lake=tmp_path) is None
    assert lake_gex_at(ticker="ES_SPX", category="gex_full", at=T0 + timedelta(hours=1), lake=tmp_path) == snap(
        120, 6102.0, category="gex_full"
    )

    page, cursor = snapshots_between(
        ticker="ES_SPX", category="gex_zero", start=T0, end=T0 + timedelta(minutes=10), limit=2, lake=tmp_path
    )
    assert [s.spot for _, s in page] == [6000.0, 6001.0]
    assert cursor is not None
    rest, end = snapshots_between(
        ticker="ES_SPX", category="gex_zero", start=T0, end=T0 + timedelta(minutes=10), cursor=cursor, lake=tmp_path
    )
    assert [s.spot for _, s in rest] == [6002.0, 6004.0]
    assert end is None


def test_trades_carry_the_gex_levels_in_force_when_they_printed(tmp_path: Path) -> None:
    write(
        [
            [trade(-5, 5999.0, seq=1), trade(30, 6000.5, seq=2)],
            [trade(61, 6001.5, seq=3), trade(130, 6002.5, seq=4)],
        ]
    )
    for seconds, spot in [(0, 6000.0), (60, 6001.0), (120, 6002.0)]:
        snapshot_record(snapshot=snap(seconds, spot))
    streams_flush(client=get_redis(), lake=tmp_path)
    rows = trades_with_gex(
        symbol="ESZ26",
        ticker="ES_SPX",
        category="gex_zero",
        start=T0 - timedelta(minutes=1),
        end=T0 + timedelta(minutes=5),
        lake=tmp_path,
    )
    assert [(row.trade.price, row.spot, row.zero_gamma) for row in rows] == [
        (5999.0, None, None),
        (6000.5, 6000.0, 5990.0),
        (6001.5, 6001.0, 5991.0),
        (6002.5, 6002.0, 5992.0),
    ]
    assert rows[1].gex_time == T0


def test_a_snapshot_without_strikes_never_replaces_one_with_strikes() -> None:
    good = snap(100, 6010.0)
    snapshot_record(snapshot=good)
    empty = replace(snap(160, 6011.0), strikes=(), zero_gamma=None, major_pos_vol=None, major_neg_vol=None)
    assert snapshot_record(snapshot=empty) is not None, "streamed: it is what the vendor sent"
    assert snapshot_latest(ticker="ES_SPX", category="gex_zero") == good
    assert get_redis().xlen(keys.gex_snapshots("ES_SPX")) == 2
    # A newer chain with rows replaces it as usual; a ticker with no rows yet takes an empty one.
    newer = snap(220, 6012.0)
    snapshot_record(snapshot=newer)
    assert snapshot_latest(ticker="ES_SPX", category="gex_zero") == newer
    first_empty = replace(snap(100, 15000.0, ticker="NQ_NDX"), strikes=())
    snapshot_record(snapshot=first_empty)
    assert snapshot_latest(ticker="NQ_NDX", category="gex_zero") == first_empty
