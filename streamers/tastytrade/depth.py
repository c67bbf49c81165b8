"""Order books from DXLink `Order` events: the depth of book the SDK does not stream.

An Order event is one entry of the book (an order, or a whole price level when its scope is
PRICE_LEVEL) keyed by `index`; a later event of the same index replaces it; the REMOVE_EVENT flag,
or a size of 0 or NaN, deletes it. A snapshot arrives as a transaction: SNAPSHOT_BEGIN on its
first event (the book starts over), TX_PENDING on every event but the last, SNAPSHOT_END (or
SNAPSHOT_SNIP) on the last. After each complete transaction the symbol's book is published as one
DepthSnapshot, levels aggregated by price, best first; never a half-applied one.
Facts: dxFeed's IndexedEvent and Order documentation, protocols.md section 2.6 (eventFlags).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.marketdata.events import DepthSnapshot, Level, Side
from streamers.tastytrade.dxlink import REMOVE_EVENT, SNAPSHOT_BEGIN, TX_PENDING

FEED = "tastytrade"
MAX_LEVELS = 20


# One Order event: symbol, eventFlags, index, time (ns), price, size (None for NaN), side.
OrderRow = tuple[str, int, int, int, float | None, float | None, Side]


@dataclass
class _Book:
    orders: dict[int, tuple[Side, float, float]] = field(default_factory=dict)
    pending: bool = False
    ts_event: int = 0


class OrderBooks:
    def __init__(self, *, levels: int = MAX_LEVELS) -> None:
        self.levels = levels
        self.books: dict[str, _Book] = {}

    def reset(self) -> None:
        """Forget every book (a new connection sends fresh snapshots)."""
        self.books.clear()

    def apply(self, rows: list[OrderRow], *, ts_recv: int) -> list[DepthSnapshot]:
        """Apply the rows in order; a snapshot of each book whose transaction completed."""
        touched: dict[str, None] = {}
        books = self.books
        unknown = Side.UNKNOWN
        book: _Book | None = None
        current: str | None = None
        orders: dict[int, tuple[Side, float, float]] = {}
        pending = 0
        newest = 0
        # Rows of one symbol come in runs: the book is looked up once per run, and its pending
        # flag and newest time are kept in locals until the run ends.
        for symbol, flags, index, ts_event, price, size, side in rows:
            if symbol != current:
                if book is not None:
                    book.pending, book.ts_event = bool(pending), newest
                book = books.get(symbol)
                if book is None:
                    book = books[symbol] = _Book()
                current, orders, newest = symbol, book.orders, book.ts_event
                touched[symbol] = None
            if flags & SNAPSHOT_BEGIN:
                orders.clear()
            if flags & REMOVE_EVENT or not size or price is None or side is unknown:
                orders.pop(index, None)
            else:
                orders[index] = (side, price, size)
            pending = flags & TX_PENDING
            newest = max(newest, ts_event)
        if book is not None:
            book.pending, book.ts_event = bool(pending), newest
        return [self._snapshot(symbol, books[symbol], ts_recv) for symbol in touched if not books[symbol].pending]

    def _snapshot(self, symbol: str, book: _Book, ts_recv: int) -> DepthSnapshot:
        bids: dict[float, float] = {}
        asks: dict[float, float] = {}
        for side, price, size in book.orders.values():
            levels = bids if side is Side.BUY else asks
            levels[price] = levels.get(price, 0.0) + size
        best_bids = sorted(bids.items(), reverse=True)[: self.levels]
        best_asks = sorted(asks.items())[: self.levels]
        return DepthSnapshot(
            symbol,
            book.ts_event or ts_recv,
            ts_recv,
            tuple(Level(price, int(size)) for price, size in best_bids),
            tuple(Level(price, int(size)) for price, size in best_asks),
            FEED,
        )
