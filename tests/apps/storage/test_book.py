"""The book of a feed at an instant: from the hot store while it reaches back that far, else
rebuilt from the lake; without a feed, the feed that last changed a book."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.events import DepthSnapshot, DepthUpdate, Level, Side
from apps.storage.book import book_view, books_compare
from apps.storage.flush import streams_flush
from tests.factories import T0, ns, write


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR


def _books() -> None:
    bids = (Level(6000.0, 5), Level(5999.75, 8), Level(5999.5, 3))
    write(
        [
            [DepthSnapshot("ESZ26", ns(1), ns(1), bids, (Level(6000.25, 7),), "test")],
            [DepthUpdate("ESZ26", ns(2), ns(2), Side.BUY, 6000.0, 0, "test")],
        ]
    )
    write([[DepthSnapshot("ESZ26", ns(3), ns(3), (Level(6000.0, 1),), (Level(6000.5, 2),), "schwab")]], feed="schwab")


def test_the_book_of_a_feed_from_the_hot_store_at_any_instant_and_depth(lake: Path) -> None:
    _books()
    before = book_view(symbol="ESZ26", at=T0 + timedelta(seconds=1.5), feed="test", levels=10)
    assert before is not None
    assert before.bids == [(6000.0, 5), (5999.75, 8), (5999.5, 3)]
    after = book_view(symbol="ESZ26", at=T0 + timedelta(seconds=5), feed="test", levels=1)
    assert after is not None
    assert (after.feed, after.bids, after.asks) == ("test", [(5999.75, 8)], [(6000.25, 7)])
    assert after.last_update_ms == ns(2) // 1_000_000
    assert book_view(symbol="ESZ26", at=T0, feed="test", levels=10) is None, "before the first snapshot"


def test_without_a_feed_the_last_feed_to_change_a_book_is_shown(lake: Path) -> None:
    _books()
    latest = book_view(symbol="ESZ26", at=T0 + timedelta(seconds=5), feed=None, levels=10)
    assert latest is not None
    assert latest.feed == "schwab"
    earlier = book_view(symbol="ESZ26", at=T0 + timedelta(seconds=2.5), feed=None, levels=10)
    assert earlier is not None
    assert earlier.feed == "test"
    assert book_view(symbol="NQZ26", at=T0 + timedelta(seconds=5), feed=None, levels=10) is None


def test_a_book_the_hot_store_no_longer_holds_is_rebuilt_from_the_lake(lake: Path) -> None:
    _books()
    streams_flush(client=get_redis(), lake=lake)
    get_redis().delete(keys.depth("ESZ26"))
    book = book_view(symbol="ESZ26", at=T0 + timedelta(seconds=5), feed="test", levels=2)
    assert book is not None
    assert (book.bids, book.asks, book.last_update_ms) == ([(5999.75, 8), (5999.5, 3)], [(6000.25, 7)], None)


def test_books_compared_by_feed_with_none_for_a_feed_without_one(lake: Path) -> None:
    _books()
    books = books_compare(
        symbol="ESZ26", at=T0 + timedelta(seconds=5), feeds=["test", "schwab", "tastytrade"], levels=5
    )
    assert list(books) == ["test", "schwab", "tastytrade"]
    test, schwab = books["test"], books["schwab"]
    assert test is not None
    assert schwab is not None
    assert test.bids == [(5999.75, 8), (5999.5, 3)]
    assert schwab.asks == [(6000.5, 2)]
    assert books["tastytrade"] is None
