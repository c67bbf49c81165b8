"""What evaluation knows besides the input itself: the previous value of each series (for
crossings and level changes), the last price of each symbol on each feed (for spreads), and the
GEX snapshot in force at a moment. One tape per source, shared by that source's rules, updated
after every rule has seen an input, so every rule sees the same "previous"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apps.alerts.inputs import AlertInput

GexLookup = Callable[[str, str, datetime], Any]


class Tape:
    def __init__(self, *, gex_lookup: GexLookup) -> None:
        self._gex_lookup = gex_lookup
        self._prices: dict[str, float] = {}
        self._snapshots: dict[str, Any] = {}
        self._feed_prices: dict[tuple[str, str], float] = {}
        # (ticker, category) -> (second looked up, snapshot): at most one lookup a second each.
        self._in_force: dict[tuple[str, str], tuple[int, Any]] = {}

    def previous_price(self, item: AlertInput) -> float | None:
        return self._prices.get(item.series)

    def previous_gex(self, item: AlertInput) -> Any:
        return self._snapshots.get(item.series)

    def last_price(self, symbol: str, feed: str) -> float | None:
        return self._feed_prices.get((symbol, feed))

    def gex_in_force(self, *, ticker: str, category: str, ts_ns: int) -> Any:
        second = ts_ns // 1_000_000_000
        cached = self._in_force.get((ticker, category))
        if cached is not None and cached[0] == second:
            return cached[1]
        snapshot = self._gex_lookup(ticker, category, datetime.fromtimestamp(second, tz=UTC))
        self._in_force[(ticker, category)] = (second, snapshot)
        return snapshot

    def observe(self, item: AlertInput) -> None:
        """Remember `item` as its series' previous value, after every rule has seen it."""
        if item.price is not None:
            self._prices[item.series] = item.price
            if item.feed is not None:
                self._feed_prices[(item.symbol, item.feed)] = item.price
                self._feed_prices[(item.symbol, "")] = item.price
        if item.gex is not None:
            self._snapshots[item.series] = item.gex
