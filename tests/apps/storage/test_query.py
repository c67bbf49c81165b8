"""DuckDB over the lake, and reads spanning the lake and the hot store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from apps.core.redis import get_redis
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Level, Quote, Side
from apps.storage.book_queries import lake_book_at
from apps.storage.connection import LakeQueryError
from apps.storage.flush import streams_flush
from apps.storage.lake_bars import lake_bars
from apps.storage.quote_queries import quotes_in_range, trades_with_quotes
from apps.storage.trade_queries import lake_trades, trades_in_range
from tests.factories import T0, ns, trade, write


def test_lake_bars_at_any_interval(tmp_path: Path) -> None:
    write(
        [
            [trade(1, 6000.0, size=2, seq=1), trade(20, 6002.0, size=1, seq=2), trade(59, 5999.0, size=3, seq=3)],
            [trade(61, 6001.0, size=4, seq=4), trade(150, 6003.0, size=1, seq=5)],
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
    write([[trade(second, 6000.0 + second / 4, size=1, seq=second) for second in range(0, 30)]])
    streams_flush(client=get_redis(), lake=tmp_path)  # in the lake and still in Redis
    write([[trade(second, 6000.0 + second / 4, size=1, seq=second) for second in range(30, 60)]])  # only in Redis

    start, end = T0 + timedelta(seconds=10), T0 + timedelta(seconds=49)
    lake_only = lake_trades(symbol="ESZ26", start=start, end=end, lake=tmp_path)
    assert [item.trade.seq for item in lake_only] == list(range(10, 30))
    both = trades_in_range(symbol="ESZ26", start=start, end=end, lake=tmp_path)
    assert [item.trade.seq for item in both] == list(range(10, 50))
    assert len({item.id for item in both}) == len(both)


def test_quotes_span_lake_and_hot_store(tmp_path: Path) -> None:
    write([[Quote("ESZ26", ns(second), ns(second), 6000.0, second + 1, 6000.25, 1, "test") for second in range(0, 10)]])
    streams_flush(client=get_redis(), lake=tmp_path)
    write(
        [[Quote("ESZ26", ns(second), ns(second), 6000.0, second + 1, 6000.25, 1, "test") for second in range(10, 20)]]
    )
    quotes = quotes_in_range(
        symbol="ESZ26", start=T0 + timedelta(seconds=5), end=T0 + timedelta(seconds=14), lake=tmp_path
    )
    assert [item.quote.bid_size for item in quotes] == list(range(6, 16))


def test_each_trade_gets_the_quote_prevailing_when_it_printed(tmp_path: Path) -> None:
    write(
        [
            [
                Quote("ESZ26", ns(1), ns(1), 6000.0, 5, 6000.25, 5, "test"),
                Quote("ESZ26", ns(3), ns(3), 6001.0, 5, 6001.25, 5, "test"),
            ]
        ]
    )
    write(
        [
            [
                trade(0.5, 6000.0, size=1, seq=1),
                trade(2, 6000.25, size=1, seq=2),
                trade(3, 6001.25, size=1, seq=3),
                trade(4, 6001.0, size=1, seq=4),
            ]
        ]
    )
    streams_flush(client=get_redis(), lake=tmp_path)
    rows = trades_with_quotes(symbol="ESZ26", start=T0, end=T0 + timedelta(seconds=10), lake=tmp_path)
    assert [(row.trade.seq, row.bid_price, row.ask_price) for row in rows] == [
        (1, None, None),  # before any quote
        (2, 6000.0, 6000.25),
        (3, 6001.0, 6001.25),  # a quote at the same instant prevails
        (4, 6001.0, 6001.25),
    ]


def test_the_book_at_a_time_from_the_lake(tmp_path: Path) -> None:
    write(
        [
            [DepthSnapshot("ESZ26", ns(0), ns(0), (Level(6000.0, 5), Level(5999.75, 8)), (Level(6000.25, 7),), "test")],
            [
                DepthUpdate("ESZ26", ns(2), ns(2), Side.BUY, 6000.0, 9, "test"),
                DepthUpdate("ESZ26", ns(4), ns(4), Side.SELL, 6000.25, 0, "test"),
            ],
            [DepthSnapshot("ESZ26", ns(1), ns(1), (Level(6100.0, 1),), (Level(6100.25, 1),), "simulator")],
        ]
    )
    streams_flush(client=get_redis(), lake=tmp_path)
    assert lake_book_at(symbol="ESZ26", at=T0 + timedelta(seconds=3), feed="test", lake=tmp_path) == {
        "bids": [(6000.0, 9), (5999.75, 8)],
        "asks": [(6000.25, 7)],
    }
    assert lake_book_at(symbol="ESZ26", at=T0 + timedelta(seconds=5), feed="test", lake=tmp_path) == {
        "bids": [(6000.0, 9), (5999.75, 8)],
        "asks": [],
    }
    assert lake_book_at(symbol="ESZ26", at=T0 - timedelta(seconds=1), feed="test", lake=tmp_path) is None


def test_bars_of_a_closed_day_follow_its_files(tmp_path: Path) -> None:
    """Bars of past days are remembered per process; a flush, compaction or purge that changes
    the day's files must show in the next answer."""
    write([[trade(1, 6000.0, size=2, seq=1), trade(20, 6002.0, size=1, seq=2)]])
    streams_flush(client=get_redis(), lake=tmp_path)
    window = {"symbol": "ESZ26", "start": T0, "end": T0 + timedelta(minutes=5), "interval": "1m", "lake": tmp_path}
    assert [(bar.high, bar.volume) for bar in lake_bars(**window)] == [(6002.0, 3)]
    assert [(bar.high, bar.volume) for bar in lake_bars(**window)] == [(6002.0, 3)]

    write([[trade(30, 6005.0, size=4, seq=3)]])  # a late file for the same day
    streams_flush(client=get_redis(), lake=tmp_path)
    assert [(bar.high, bar.volume) for bar in lake_bars(**window)] == [(6005.0, 7)]
