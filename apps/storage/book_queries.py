"""The order book of a moment, rebuilt from the lake's depth operations (`depth_data`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from apps.marketdata.events import Side
from apps.storage.connection import fetch, has_view, ns_range
from apps.storage.stream_order import stream_order


def lake_book_at(
    *, symbol: str, at: datetime, feed: str, lake: Path | None = None
) -> dict[str, list[tuple[float, int]]] | None:
    """The book of `feed` at `at` from the lake's depth operations: the latest CLEAR (snapshot)
    at or before `at` of that day or the day before, with every SET after it applied."""
    if not has_view("depth_data", lake):
        return None
    at_ns = ns_range(at, at)[1]
    day = at.astimezone(UTC).date()
    rows = fetch(
        lake,
        """
        select epoch_ns(ts_event), op, side, price, size, stream_id from depth_data
        where symbol = ? and feed = ? and epoch_ns(ts_event) <= ? and date between ?::date and ?::date
        """,
        [symbol, feed, at_ns, day - timedelta(days=1), day],
    )
    ordered = sorted(rows, key=lambda row: stream_order(row[5], int(row[0])))
    start = max((index for index, row in enumerate(ordered) if row[1] == 0), default=None)
    if start is None:
        return None
    bids: dict[float, int] = {}
    asks: dict[float, int] = {}
    for _, _op, side, price, size, _ in ordered[start + 1 :]:
        levels = bids if side == int(Side.BUY) else asks
        if size:
            levels[price] = int(size)
        else:
            levels.pop(price, None)
    return {"bids": sorted(bids.items(), key=lambda level: -level[0]), "asks": sorted(asks.items())}
