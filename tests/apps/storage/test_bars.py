"""Bars at any interval from the lake and the hot store, each trade once; and where the lake ends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.core.exceptions import BadInputError
from apps.core.redis import get_redis
from apps.storage.bars import MAX_BARS, bars_range
from apps.storage.flush import streams_flush
from apps.storage.unflushed import unflushed_since_ns
from tests.factories import T0, ns, trade, write


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR


def test_the_lake_ends_at_the_earliest_trade_written_after_the_last_flush(lake: Path) -> None:
    assert unflushed_since_ns(symbol="ESZ26") is None, "nothing written"
    write([[trade(1, 6000.0), trade(2, 6000.25)]])
    assert unflushed_since_ns(symbol="ESZ26") == ns(1)
    streams_flush(client=get_redis(), lake=lake)
    assert unflushed_since_ns(symbol="ESZ26") is None, "everything flushed"
    # A late block can hold a trade older than the one before it: the earliest decides.
    write([[trade(9, 6001.0)], [trade(5, 6000.5), trade(12, 6002.0)]])
    assert unflushed_since_ns(symbol="ESZ26") == ns(5)


def test_bars_merge_the_lake_and_the_hot_store_counting_each_trade_once(lake: Path) -> None:
    write([[trade(1, 6000.0, size=2), trade(59, 5999.0, size=3)], [trade(61, 6001.0, size=4)]])
    streams_flush(client=get_redis(), lake=lake)  # flushed, and still in the hot store
    write([[trade(70, 6004.0, size=2), trade(125, 6003.0)]])
    bars = bars_range(symbol="ESZ26", interval="1m", start=T0, end=T0 + timedelta(minutes=5))
    assert [(bar.start_ms, bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in bars] == [
        (ns(0) // 1_000_000, 6000.0, 6000.0, 5999.0, 5999.0, 5),
        (ns(60) // 1_000_000, 6001.0, 6004.0, 6001.0, 6004.0, 6),
        (ns(120) // 1_000_000, 6003.0, 6003.0, 6003.0, 6003.0, 1),
    ]
    whole = bars_range(symbol="ESZ26", interval="1h", start=T0, end=T0 + timedelta(minutes=5))
    assert [(bar.open, bar.close, bar.volume) for bar in whole] == [(6000.0, 6003.0, 12)]


def test_bars_of_a_range_the_lake_alone_holds(lake: Path) -> None:
    write([[trade(1, 6000.0), trade(2, 6001.0)]])
    streams_flush(client=get_redis(), lake=lake)
    write([[trade(600, 6100.0)]])  # unflushed, after the range
    bars = bars_range(symbol="ESZ26", interval="1s", start=T0, end=T0 + timedelta(seconds=5))
    assert [(bar.start_ms, bar.close) for bar in bars] == [(ns(1) // 1_000_000, 6000.0), (ns(2) // 1_000_000, 6001.0)]


def test_too_many_bars_is_bad_input_naming_start(lake: Path) -> None:
    with pytest.raises(BadInputError, match=f"more than {MAX_BARS:,}") as refused:
        bars_range(symbol="ESZ26", interval="1s", start=T0, end=T0 + timedelta(seconds=MAX_BARS + 1))
    assert refused.value.field == "start"
