"""Pages of trades and quotes over the lake and the hot store: a cursor continues exactly after
the last item it names, wherever the items live and however many share a nanosecond."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.core import keys
from apps.core.exceptions import BadInputError
from apps.core.redis import get_redis
from apps.marketdata.selectors import StoredTrade
from apps.storage.flush import streams_flush
from apps.storage.pages import quotes_page, trades_page
from tests.factories import T0, ns, quote, trade, write

END = T0 + timedelta(hours=1)


@pytest.fixture
def lake(settings: Settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    return settings.LAKE_DIR


def _all_pages(limit: int) -> tuple[list[StoredTrade], int]:
    seen: list[StoredTrade] = []
    cursor, pages = None, 0
    while True:
        page, cursor = trades_page(symbol="ESZ26", start=T0, end=END, cursor=cursor, limit=limit)
        seen += page
        pages += 1
        if cursor is None:
            return seen, pages


def test_paging_continues_exactly_after_the_cursor_across_the_lake_and_the_hot_store(lake: Path) -> None:
    # Six trades in each of 20 nanoseconds, in blocks of 5: page ends fall inside a nanosecond.
    flushed = [trade(index // 6 * 0.25, 6000 + index % 4 * 0.25, seq=index) for index in range(120)]
    write([flushed[start : start + 5] for start in range(0, 120, 5)])
    streams_flush(client=get_redis(), lake=lake)
    client = get_redis()
    key = keys.trades("ESZ26")
    last_flushed = client.xrevrange(key, count=1)[0][0].decode()
    client.xtrim(key, minid=last_flushed, approximate=False)  # most now only in the lake
    hot_only = [trade(30 + index // 3 * 0.5, 6010.0, seq=1000 + index) for index in range(60)]
    write([hot_only[start : start + 7] for start in range(0, 60, 7)])

    seen, pages = _all_pages(limit=7)
    assert pages == -(-180 // 7)
    assert sorted(item.trade.seq for item in seen) == sorted(t.seq for t in flushed + hot_only), "each trade once"
    assert len({item.id for item in seen}) == 180
    times = [item.trade.ts_event for item in seen]
    assert times == sorted(times)
    same_nanosecond = [item.trade.seq for item in seen if item.trade.ts_event == ns(0)]
    assert same_nanosecond == [0, 1, 2, 3, 4, 5], "within a nanosecond, in the order they were written"


def test_a_page_size_that_divides_the_trades_ends_without_an_empty_page(lake: Path) -> None:
    write([[trade(second, 6000.0, seq=second) for second in range(10)]])
    first, cursor = trades_page(symbol="ESZ26", start=T0, end=END, limit=5)
    assert cursor is not None
    second, cursor = trades_page(symbol="ESZ26", start=T0, end=END, cursor=cursor, limit=5)
    assert cursor is None
    assert [item.trade.seq for item in first + second] == list(range(10))


def test_the_range_bounds_the_pages(lake: Path) -> None:
    write([[trade(second, 6000.0, seq=second) for second in range(10)]])
    page, cursor = trades_page(symbol="ESZ26", start=T0 + timedelta(seconds=3), end=T0 + timedelta(seconds=6))
    assert [item.trade.seq for item in page] == [3, 4, 5, 6]
    assert cursor is None


@pytest.mark.parametrize("cursor", ["nonsense", "123", "_0-0:0", "abc_0-0:0"])
def test_a_cursor_this_api_did_not_return_is_bad_input_naming_the_cursor(lake: Path, cursor: str) -> None:
    with pytest.raises(BadInputError) as refused:
        trades_page(symbol="ESZ26", start=T0, end=END, cursor=cursor)
    assert refused.value.field == "cursor"
    assert cursor in refused.value.message


def test_quote_pages_span_the_lake_and_the_hot_store(lake: Path) -> None:
    write([[quote(second, 6000.0, 6000.25, bid_size=second + 1) for second in range(5)]])
    streams_flush(client=get_redis(), lake=lake)
    write([[quote(second, 6000.0, 6000.25, bid_size=second + 1) for second in range(5, 9)]])
    sizes: list[int] = []
    cursor = None
    while True:
        page, cursor = quotes_page(symbol="ESZ26", start=T0, end=END, cursor=cursor, limit=4)
        sizes += [item.quote.bid_size for item in page]
        if cursor is None:
            break
    assert sizes == list(range(1, 10))
