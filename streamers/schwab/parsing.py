"""Schwab streamer data frames -> normalized events (and vendor minute bars).

Schwab's LEVELONE services send only the fields that changed (conflated), so the parser keeps
the last known value of every field per symbol and merges each row into it. Trades are not a
service of their own (Schwab has no time & sales for this API): a trade is a rise of the total
volume (field 8), of that many contracts, at the last price. The first row after a (re)subscribe
carries the day's volume so far: it sets the baseline and is not a trade, so nothing is counted
twice across a reconnect; the contracts traded while disconnected fall in the recorded gap.

A frame is decoded and type-checked whole before any state changes: a bad frame is dead-lettered
without leaving half its rows applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from apps.marketdata.events import DepthSnapshot, Event, Level, Quote, Side, Trade
from streamers.feed import MalformedMessageError

FEED = "schwab"
NS_PER_MS = 1_000_000


class _LevelOneRow(msgspec.Struct, gc=False):
    """A LEVELONE row's fields, numbered alike for futures and equities but for the two times,
    which each service's row names below."""

    key: str
    bid: float | None = msgspec.field(name="1", default=None)
    ask: float | None = msgspec.field(name="2", default=None)
    last: float | None = msgspec.field(name="3", default=None)
    bid_size: int | None = msgspec.field(name="4", default=None)
    ask_size: int | None = msgspec.field(name="5", default=None)
    volume: int | None = msgspec.field(name="8", default=None)
    last_size: int | None = msgspec.field(name="9", default=None)
    quote_time: int | None = None
    trade_time: int | None = None


class _FuturesRow(_LevelOneRow, gc=False):
    quote_time: int | None = msgspec.field(name="10", default=None)
    trade_time: int | None = msgspec.field(name="11", default=None)


class _EquityRow(_LevelOneRow, gc=False):
    quote_time: int | None = msgspec.field(name="34", default=None)
    trade_time: int | None = msgspec.field(name="35", default=None)


class _BookLevel(msgspec.Struct, gc=False):
    price: float = msgspec.field(name="0")
    size: int = msgspec.field(name="1")


class _BookRow(msgspec.Struct, gc=False):
    key: str
    time: int = msgspec.field(name="1")
    bids: list[_BookLevel] = msgspec.field(name="2", default_factory=list)
    asks: list[_BookLevel] = msgspec.field(name="3", default_factory=list)


class _ChartRow(msgspec.Struct, gc=False):
    key: str
    time: int = msgspec.field(name="1")
    open: float = msgspec.field(name="2")
    high: float = msgspec.field(name="3")
    low: float = msgspec.field(name="4")
    close: float = msgspec.field(name="5")
    volume: float = msgspec.field(name="6")
    seq: int = 0


class _Item(msgspec.Struct, gc=False):
    service: str
    timestamp: int = 0
    command: str = ""
    content: msgspec.Raw = msgspec.Raw(b"[]")


class _Notify(msgspec.Struct, gc=False):
    heartbeat: str | None = None
    service: str | None = None
    content: dict[str, object] | None = None


class _Frame(msgspec.Struct, gc=False):
    data: list[_Item] = []
    notify: list[_Notify] = []
    response: list[dict[str, object]] = []


_frame = msgspec.json.Decoder(_Frame)
LEVEL_ONE_SERVICES = {"LEVELONE_FUTURES": _FuturesRow, "LEVELONE_EQUITIES": _EquityRow}
BOOK_SERVICES = ("NASDAQ_BOOK", "NYSE_BOOK", "OPTIONS_BOOK")
CHART_SERVICES = ("CHART_FUTURES",)
_decoders: dict[str, msgspec.json.Decoder[list[object]]] = {
    **{name: msgspec.json.Decoder(list[row]) for name, row in LEVEL_ONE_SERVICES.items()},  # type: ignore[valid-type]
    **{name: msgspec.json.Decoder(list[_BookRow]) for name in BOOK_SERVICES},
    **{name: msgspec.json.Decoder(list[_ChartRow]) for name in CHART_SERVICES},
}


@dataclass(frozen=True)
class VendorBar:
    """One CHART_FUTURES minute (or a price-history candle): the vendor's own bar."""

    symbol: str
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class _LevelOne:
    __slots__ = ("ask", "ask_size", "bid", "bid_size", "last", "quote_time", "trade_time", "volume")

    def __init__(self) -> None:
        self.bid: float | None = None
        self.ask: float | None = None
        self.bid_size: int | None = None
        self.ask_size: int | None = None
        self.last: float | None = None
        self.volume: int | None = None
        self.quote_time: int | None = None
        self.trade_time: int | None = None


class SchwabParser:
    """Parses data and notify frames; `canonical_of` maps Schwab's key (`/ESZ25`) to ours."""

    def __init__(self, *, canonical_of: Callable[[str], str]) -> None:
        self.canonical_of = canonical_of
        self._symbols: dict[str, str] = {}
        self._level_one: dict[tuple[str, str], _LevelOne] = {}
        self.bars: list[VendorBar] = []
        self.heartbeats = 0

    def reset_baselines(self) -> None:
        """After a reconnect the first row of each symbol is a snapshot again, not a change."""
        self._level_one.clear()

    def _symbol(self, key: str) -> str:
        symbol = self._symbols.get(key)
        if symbol is None:
            try:
                symbol = self.canonical_of(key)
            except ValueError as error:
                raise MalformedMessageError("unknown_symbol", str(error), "$.data[].content[].key") from None
            self._symbols[key] = symbol
        return symbol

    def parse(self, raw: bytes | str, *, ts_recv: int) -> list[Event]:
        try:
            frame = _frame.decode(raw)
        except msgspec.ValidationError as error:
            raise MalformedMessageError("bad_envelope", str(error), "frame") from None
        except msgspec.DecodeError as error:
            raise MalformedMessageError("invalid_json", str(error), "frame") from None
        self.heartbeats += sum(1 for note in frame.notify if note.heartbeat is not None)
        decoded: list[tuple[str, int, list[object]]] = []
        for index, item in enumerate(frame.data):
            decoder = _decoders.get(item.service)
            if decoder is None:
                raise MalformedMessageError(
                    f"unknown_service:{item.service}"[:40],
                    f"service {item.service!r} is not one we read",
                    f"$.data[{index}]",
                )
            try:
                decoded.append((item.service, item.timestamp, decoder.decode(item.content)))
            except (msgspec.ValidationError, msgspec.DecodeError) as error:
                raise MalformedMessageError(
                    f"bad_row:{item.service}"[:40], str(error), f"$.data[{index}].content"
                ) from None
        # Keys are checked before any state changes too.
        for _, _, rows in decoded:
            for row in rows:
                self._symbol(row.key)  # type: ignore[attr-defined]
        events: list[Event] = []
        for service, timestamp, rows in decoded:
            if service in LEVEL_ONE_SERVICES:
                for row in rows:
                    self._level_one_row(service, row, timestamp, ts_recv, events)  # type: ignore[arg-type]
            elif service in BOOK_SERVICES:
                events.extend(self._book(row, ts_recv) for row in rows)  # type: ignore[arg-type]
            else:
                self.bars.extend(self._bar(row) for row in rows)  # type: ignore[arg-type]
        return events

    def _level_one_row(  # noqa: PLR0912 - one branch per field of a changed-fields row
        self, service: str, row: _LevelOneRow, timestamp: int, ts_recv: int, out: list[Event]
    ) -> None:
        symbol = self._symbols[row.key]
        state = self._level_one.get((service, symbol))
        if state is None:
            state = self._level_one[(service, symbol)] = _LevelOne()
        # The trade met the quote standing before this row: its side comes from that quote.
        bid_before, ask_before = state.bid, state.ask
        quote_changed = False
        if row.bid is not None:
            state.bid, quote_changed = row.bid, True
        if row.ask is not None:
            state.ask, quote_changed = row.ask, True
        if row.bid_size is not None:
            state.bid_size, quote_changed = row.bid_size, True
        if row.ask_size is not None:
            state.ask_size, quote_changed = row.ask_size, True
        if row.quote_time is not None:
            state.quote_time = row.quote_time
        if row.last is not None:
            state.last = row.last
        if row.trade_time is not None:
            state.trade_time = row.trade_time
        if row.volume is not None:
            previous, state.volume = state.volume, row.volume
            if previous is not None and row.volume > previous and state.last is not None:
                price = state.last
                if ask_before is not None and price >= ask_before:
                    side = Side.BUY
                elif bid_before is not None and price <= bid_before:
                    side = Side.SELL
                else:
                    side = Side.UNKNOWN
                traded_ms = state.trade_time or timestamp
                out.append(
                    Trade(symbol, traded_ms * NS_PER_MS, ts_recv, price, row.volume - previous, side, FEED, row.volume)
                )
        if (
            quote_changed
            and state.bid is not None
            and state.ask is not None
            and state.bid_size is not None
            and state.ask_size is not None
        ):
            quoted_ms = state.quote_time or timestamp
            out.append(
                Quote(
                    symbol, quoted_ms * NS_PER_MS, ts_recv, state.bid, state.bid_size, state.ask, state.ask_size, FEED
                )
            )

    def _book(self, row: _BookRow, ts_recv: int) -> DepthSnapshot:
        return DepthSnapshot(
            self._symbols[row.key],
            row.time * NS_PER_MS,
            ts_recv,
            tuple(Level(level.price, level.size) for level in row.bids),
            tuple(Level(level.price, level.size) for level in row.asks),
            FEED,
        )

    def _bar(self, row: _ChartRow) -> VendorBar:
        return VendorBar(self._symbols[row.key], row.time, row.open, row.high, row.low, row.close, row.volume)

    def take_bars(self) -> list[VendorBar]:
        bars, self.bars = self.bars, []
        return bars
