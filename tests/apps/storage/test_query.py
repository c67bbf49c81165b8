"""DuckDB over the lake, and reads spanning the lake and the hot store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.core.redis import get_redis
from apps.marketdata.events import Side, Trade
from apps.storage.flush import streams_flush
from apps.storage.query import LakeQueryError, lake_bars, lake_trades, trades_in_range
from tests.apps.storage.test_flush import write

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def ns(seconds: float) -> int:
    return int((T0.timestamp() + seconds) * 1_000_000_000)


def trade(seconds: float, price: float, size: int = 1, seq: int = 0) -> Trade:
    return Trade("ESZ26", ns(seconds), ns(seconds), price, size, Side.BUY, "test", seq)


def test_lake_bars_at_any_interval(tmp_path: Path) -> None:
    write(
        [
            [trade(1, 6000.0, 2, 1), trade(20, 6002.0, 1, 2), trade(59, 5999.0, 3, 3)],
            [trade(61, 6001.0, 4, 4), trade(150, 6003.0, 1, 5)],
        ]
    )
    streams_flush(client=get_redis(), lake=tmp_path)
    bars = lake_bars(symbol="ESZ26", start=T0, end=T0 + timedelta(minutes=5), interval="1m", lake=tmp_path)
    assert [(bar.start, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trades) for bar in bars] == [
        (T0, 6000.0, 6002.0, 5999.0, 5999.0, 6, 3),
        (T0 + timedelta(minutes=1), 6001.0, 6001.0, 6001.0, 6001.0, 4, 1),
        (T0 + timedelta(minutes=2), 6003.0, 6003.0, 6003.0, 6003.0, 1, 1),
    ]
    five = lake_bars(symbol="ESZ26", start=T0, end=T0 + timedelta(minutes=5), interval="5m", lake=tmp_path)
    assert [(bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in five] == [
        (6000.0, 6003.0, 5999.0, 6003.0, 11)
    ]
    with pytest.raises(LakeQueryError, match="interval '7m'"):
        lake_bars(symbol="ESZ26", start=T0, end=T0, interval="7m", lake=tmp_path)


def test_an_empty_lake_answers_empty(tmp_path: Path) -> None:
    assert lake_trades(symbol="ESZ26", start=T0, end=T0 + timedelta(hours=1), lake=tmp_path) == []
    assert lake_bars(symbol="ESZ26", start=T0, end=T0 + timedelta(hours=1), lake=tmp_path) == []


def test_a_range_spanning_lake_and_hot_store_is_continuous_and_has_no_duplicates(tmp_path: Path) -> None:
    write([[trade(second, 6000.0 + second / 4, 1, second) for second in range(0, 30)]])
    streams_flush(client=get_redis(), lake=tmp_path)  # in the lake and still in Redis
    write([[trade(second, 6000.0 + second / 4, 1, second) for second in range(30, 60)]])  # only in Redis

    start, end = T0 + timedelta(seconds=10), T0 + timedelta(seconds=49)
    lake_only = lake_trades(symbol="ESZ26", start=start, end=end, lake=tmp_path)
    assert [item.trade.seq for item in lake_only] == list(range(10, 30))
    both = trades_in_range(symbol="ESZ26", start=start, end=end, lake=tmp_path)
    assert [item.trade.seq for item in both] == list(range(10, 50))
    assert len({item.id for item in both}) == len(both)
