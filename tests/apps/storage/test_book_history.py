"""The live book a ladder starts from (with the /ws/depth position it includes), and the book over
a range as heatmap columns, from the hot store, the lake, and both at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.depth_reads import book_live
from apps.marketdata.events import Side
from apps.storage.book_history import MAX_COLUMNS, book_history, history_step
from apps.storage.flush import streams_flush
from tests.factories import T0, depth_snapshot, depth_update, write


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR


def _market() -> None:
    """A snapshot at 1 s, updates at 2.5 s and 3.5 s, a new snapshot at 5 s; another feed between."""
    write(
        [
            [depth_snapshot(1, bids=((6000.0, 10), (5999.75, 12)), asks=((6000.25, 8), (6000.5, 3)))],
            [depth_update(2.5, Side.BUY, 6000.0, 4), depth_update(2.5, Side.SELL, 6000.75, 6)],
            [depth_update(3.5, Side.SELL, 6000.25, 0)],
        ]
    )
    write([[depth_snapshot(4, bids=((1.0, 1),), asks=((2.0, 1),), feed="schwab")]], feed="schwab")
    write([[depth_snapshot(5, bids=((6001.0, 2),), asks=((6001.25, 9),))]])


def _columns(**kwargs: object) -> list[tuple[int, list[tuple[float, int]], list[tuple[float, int]]]]:
    history = book_history(symbol="ESZ26", feed="test", **kwargs)  # type: ignore[arg-type]
    base = int(T0.timestamp() * 1000)
    return [((column.start_ms - base) // 1000, column.bids, column.asks) for column in history.columns]


EXPECTED = [
    (0, [], []),  # before the first snapshot
    (1, [(6000.0, 10), (5999.75, 12)], [(6000.25, 8), (6000.5, 3)]),
    (2, [(6000.0, 4), (5999.75, 12)], [(6000.25, 8), (6000.5, 3)]),
    (3, [(6000.0, 4), (5999.75, 12)], [(6000.5, 3), (6000.75, 6)]),
    (4, [(6000.0, 4), (5999.75, 12)], [(6000.5, 3), (6000.75, 6)]),
    (5, [(6001.0, 2)], [(6001.25, 9)]),
]


def test_the_live_book_has_every_level_and_the_position_of_its_last_operation(lake: Path) -> None:
    _market()
    live = book_live(symbol="ESZ26", feed="test")
    assert live is not None
    assert live.book.levels(10) == {"bids": [(6001.0, 2)], "asks": [(6001.25, 9)]}
    last_entry = get_redis().xrevrange(keys.depth("ESZ26"), count=1)[0][0].decode()
    # The snapshot's CLEAR and its two levels: the last is index 2 of the newest entry.
    assert live.through == f"{last_entry}:2"
    # Without a feed: the feed that wrote last.
    latest = book_live(symbol="ESZ26")
    assert latest is not None
    assert latest.book.feed == "test"
    schwab = book_live(symbol="ESZ26", feed="schwab")
    assert schwab is not None
    assert schwab.book.levels(10) == {"bids": [(1.0, 1)], "asks": [(2.0, 1)]}
    assert book_live(symbol="NQZ26") is None, "no depth of that symbol at all"


def test_columns_show_the_book_at_the_end_of_each_step_from_the_hot_store(lake: Path) -> None:
    _market()
    assert _columns(start=T0, end=T0 + timedelta(seconds=5.5), step_ms=1000, levels=2) == EXPECTED
    # One level per side: the best only.
    one = _columns(start=T0 + timedelta(seconds=3), end=T0 + timedelta(seconds=3.9), step_ms=1000, levels=1)
    assert one == [(3, [(6000.0, 4)], [(6000.5, 3)])], "the book before the range's start carries into it"


def test_columns_are_the_same_from_the_lake_and_from_both_stores_at_once(lake: Path) -> None:
    _market()
    streams_flush(client=get_redis(), lake=lake)
    both = _columns(start=T0, end=T0 + timedelta(seconds=5.5), step_ms=1000, levels=2)
    assert both == EXPECTED, "flushed and still in the hot store: each operation once"
    get_redis().delete(keys.depth("ESZ26"))
    lake_only = _columns(start=T0, end=T0 + timedelta(seconds=5.5), step_ms=1000, levels=2)
    assert lake_only == EXPECTED


def test_an_empty_range_and_a_symbol_without_depth_answer_no_columns(lake: Path) -> None:
    _market()
    backwards = book_history(symbol="ESZ26", start=T0, end=T0 - timedelta(seconds=1), step_ms=1000, levels=5)
    assert backwards.columns == []
    none = book_history(symbol="NQZ26", start=T0, end=T0 + timedelta(seconds=5), step_ms=1000, levels=5)
    assert (none.feed, none.columns) == (None, [])
    before = _columns(start=T0 - timedelta(hours=1), end=T0 - timedelta(minutes=59), step_ms=30_000, levels=5)
    assert before == [(-3600, [], []), (-3570, [], []), (-3540, [], [])], "before any snapshot: empty columns"


def test_a_long_range_is_cut_into_at_most_max_columns() -> None:
    assert history_step(start=T0, end=T0 + timedelta(hours=10), step_ms=100) == 18_000
    assert history_step(start=T0, end=T0 + timedelta(seconds=MAX_COLUMNS), step_ms=1000) == 1000
