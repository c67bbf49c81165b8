"""The most recent trades across the hot store's blocks: oldest first, each with the id of its
block and its place in it, cut anywhere inside a block."""

from __future__ import annotations

import pytest

from apps.marketdata.selectors import trades_last
from tests.factories import trade, write


@pytest.mark.parametrize("count", [1, 4, 5, 7, 12, 15, 100])
def test_the_last_trades_are_cut_anywhere_in_a_block_with_their_ids(count: int) -> None:
    batches = [
        [trade(block * 10 + i, 6000 + block * 10 + i, seq=block * 5 + i) for i in range(5)] for block in range(3)
    ]
    entry_ids = [write([batch])[0].last_ids for batch in batches]
    ids = [f"{next(iter(entry.values()))}:{index}" for entry in entry_ids for index in range(5)]
    prices = [6000.0 + block * 10 + i for block in range(3) for i in range(5)]

    got = trades_last(symbol="ESZ26", count=count)
    assert [item.id for item in got] == ids[-count:]
    assert [item.trade.price for item in got] == prices[-count:]
