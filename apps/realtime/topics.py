"""The WebSocket topics: for each, the stream a symbol lives in, how a client's symbol is checked,
how stream entries become ready-to-send frames, and what happens to a client that falls behind.

Each entry is decoded once; a frame holds the entries of one symbol read together (one when the
relay keeps up) and the same text goes to every subscriber. Event ids are the hot store's
positions: `<entry id>:<index>` inside a block (trades, depth), the plain entry id otherwise (gex,
sc, alerts), so a client resumes with the last id it saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
import structlog

from apps.core import keys
from apps.core.clock import to_epoch_ms, utc_now
from apps.core.codec import dumps, loads
from apps.core.positions import StreamPosition, StreamPositionError
from apps.gex.sierra import sierra_history_line
from apps.gex.snapshots import GEXSnapshot, snapshot_decode
from apps.marketdata.blocks import decode_depth, decode_trades
from apps.marketdata.events import Side, Trade
from apps.marketdata.symbols import canonical
from apps.monitoring import metrics

log = structlog.get_logger(__name__)

EntryId = tuple[int, int]
SIDES = {Side.UNKNOWN: "unknown", Side.BUY: "buy", Side.SELL: "sell"}
ALL_SYMBOLS = "*"
# The level fields sent beside a Sierra Chart history line on /ws/sc.
SC_FIELDS = (
    "ticker",
    "package",
    "category",
    "timestamp",
    "spot",
    "zero_gamma",
    "major_pos_vol",
    "major_neg_vol",
    "major_pos_oi",
    "major_neg_oi",
    "sum_gex_vol",
    "sum_gex_oi",
    "delta_risk_reversal",
)


class Overflow(StrEnum):
    """What a full client queue does: trades must be complete or nothing (close 4008, the client
    resumes from its last id); depth and GEX are states, so only the newest frame per symbol matters."""

    DISCONNECT = "disconnect"
    CONFLATE = "conflate"


class PositionError(ValueError):
    pass


def entry_id_text(entry: EntryId) -> str:
    return f"{entry[0]}-{entry[1]}"


@dataclass(frozen=True, slots=True)
class Piece:
    """The events of one stream entry as JSON objects joined by commas, ready to splice into a frame."""

    entry: EntryId
    events: int
    json: bytes
    # The oldest exchange time among the events (ns since the epoch; 0 when they carry none).
    exchange_ns: int = 0


@dataclass(frozen=True, slots=True)
class Frame:
    """One text frame for the client, shared by every subscriber of its symbol: the events of one
    or more consecutive entries (`first` to `entry`). Control messages (subscribed, error,
    conflated) have no symbol and no pieces."""

    text: str
    symbol: str | None = None
    entry: EntryId = (0, 0)
    events: int = 0
    live: bool = False
    first: EntryId = (0, 0)
    pieces: tuple[Piece, ...] = ()
    # The oldest exchange time of the frame's events (0 when none carries one); worked out once
    # per frame, not per client it goes to.
    exchange_ns: int = 0


Decoder = Callable[[str, str, dict[bytes, bytes]], list[dict[str, Any]]]
# A frame grows by whole entries up to about this size: enough to carry a burst in one message,
# well under the 1 MiB a `websockets` client accepts by default.
MAX_FRAME_EVENTS = 2000
MAX_FRAME_BYTES = 256 * 1024
# How far past the server's clock a resume position may lie: ids come from Redis's clock, which
# may run a little ahead of the web process's. Anything further was never sent by this server,
# and resuming from it would wait silently for a moment that has not come.
MAX_CLOCK_SKEW_MS = 60_000


@dataclass(frozen=True)
class Topic:
    name: str
    overflow: Overflow
    blocks: bool
    history: str  # where a client finds what the hot store no longer holds
    stream: Callable[[str], str]
    resolve: Callable[[str], str]
    decode: Decoder
    # The store it reads: live, or a replay's sandbox (`in_keyspace`).
    keyspace: keys.KeySpace = keys.LIVE

    def in_keyspace(self, keyspace: keys.KeySpace) -> Topic:
        """This topic over another store: its streams are the same keys in `keyspace`."""
        if keyspace == self.keyspace:
            return self
        live_stream = self.stream if self.keyspace.is_live else TOPICS[self.name].stream
        return replace(self, stream=lambda symbol: keyspace.scoped(live_stream(symbol)), keyspace=keyspace)

    def position(self, text: str, *, now: datetime) -> StreamPosition:
        """A client's resume position; PositionError when it is not one of this topic's forms or
        lies in the future of `now` (beyond MAX_CLOCK_SKEW_MS)."""
        try:
            parsed: StreamPosition | None = StreamPosition.parse(text)
        except StreamPositionError:
            parsed = None
        if parsed is None or (parsed.index is not None and not self.blocks):
            form = "<entry id>:<index> or <entry id>" if self.blocks else "<entry id>"
            raise PositionError(f"{text!r} is not a {self.name} position ({form}, e.g. 1764000000000-0)")
        if parsed.ms > to_epoch_ms(now) + MAX_CLOCK_SKEW_MS:
            raise PositionError(
                f"{text!r} is in the future (the server's clock is at {to_epoch_ms(now)}-0):"
                " resume from the last id this server sent"
            )
        return parsed

    def piece(
        self, symbol: str, entry_id: str, fields: dict[bytes, bytes], *, after: int | None = None
    ) -> Piece | None:
        """One stream entry decoded; with `after`, only the block's events past that index. None
        when nothing is left."""
        events = self.decode(symbol, entry_id, fields)
        if after is not None:
            events = events[after + 1 :]
        if not events:
            return None
        return piece_of(entry_id, events)

    def pieces(
        self, symbol: str, entries: list[tuple[str, dict[bytes, bytes]]], *, skip: tuple[str, int] | None = None
    ) -> list[Piece]:
        """Decode entries; `skip` (entry id, index) drops that entry's events up to the index. An
        entry that cannot be decoded is logged and left out: one bad entry must not stop a topic."""
        pieces = []
        for entry_id, fields in entries:
            after = skip[1] if skip is not None and entry_id == skip[0] else None
            try:
                piece = self.piece(symbol, entry_id, fields, after=after)
            except Exception as error:  # noqa: BLE001 - whatever a corrupt entry raises
                metrics.WS_RELAY_ERRORS.labels(self.name).inc()
                log.error("realtime.entry_undecodable", topic=self.name, symbol=symbol, id=entry_id, error=repr(error))
                continue
            if piece is not None:
                pieces.append(piece)
        return pieces

    def frames(self, symbol: str, pieces: list[Piece], *, live: bool) -> list[Frame]:
        """Consecutive entries of one symbol in as few frames as the size limits allow: each
        entry is encoded once, and entries that arrived together cost one message per client."""
        frames: list[Frame] = []
        head = dumps({"type": "events", "topic": self.name, "symbol": symbol, "events": []})[:-2]
        group: list[Piece] = []
        events = size = 0
        for piece in pieces:
            if group and (events + piece.events > MAX_FRAME_EVENTS or size + len(piece.json) > MAX_FRAME_BYTES):
                frames.append(self._frame(head, symbol, group, events, live))
                group, events, size = [], 0, 0
            group.append(piece)
            events += piece.events
            size += len(piece.json) + 1
        if group:
            frames.append(self._frame(head, symbol, group, events, live))
        return frames

    @staticmethod
    def _frame(head: bytes, symbol: str, pieces: list[Piece], events: int, live: bool) -> Frame:
        text = (head + b",".join(piece.json for piece in pieces) + b"]}").decode()
        oldest = min((piece.exchange_ns for piece in pieces if piece.exchange_ns), default=0)
        return Frame(text, symbol, pieces[-1].entry, events, live, pieces[0].entry, tuple(pieces), oldest)

    def after(self, frame: Frame, last: EntryId) -> Frame | None:
        """`frame` without the entries up to `last` (a client that resumed already has them)."""
        if frame.symbol is None:
            return frame
        rest = [piece for piece in frame.pieces if piece.entry > last]
        if not rest:
            return None
        if len(rest) == len(frame.pieces):
            return frame
        return self.frames(frame.symbol, rest, live=frame.live)[0]


def _data(entry_id: str, fields: dict[bytes, bytes]) -> bytes:
    data = fields.get(b"d")
    if data is None:
        raise ValueError(f"stream entry {entry_id} has no field 'd'")
    return data


def trade_event(event_id: str, trade: Trade) -> dict[str, Any]:
    """A trade as the trades topic sends it (from the hot store, or from the lake on a resume)."""
    return {
        "id": event_id,
        "ts_event": trade.ts_event,
        "price": trade.price,
        "size": trade.size,
        "side": SIDES[trade.side],
        "feed": trade.feed,
    }


def piece_of(entry_id: str, events: list[dict[str, Any]]) -> Piece:
    times = [event["ts_event"] for event in events if isinstance(event.get("ts_event"), int)]
    return Piece(StreamPosition.parse(entry_id).entry, len(events), dumps(events)[1:-1], min(times, default=0))


def _trade_events(symbol: str, entry_id: str, fields: dict[bytes, bytes]) -> list[dict[str, Any]]:
    return [
        trade_event(f"{entry_id}:{index}", trade)
        for index, trade in enumerate(decode_trades(symbol, _data(entry_id, fields)))
    ]


def _depth_events(symbol: str, entry_id: str, fields: dict[bytes, bytes]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{entry_id}:{index}",
            "ts_event": row.ts_event,
            "op": row.op.name.lower(),
            "side": SIDES[row.side],
            "price": row.price,
            "size": row.size,
            "feed": row.feed,
        }
        for index, row in enumerate(decode_depth(_data(entry_id, fields)))
    ]


def _snapshot(entry_id: str, fields: dict[bytes, bytes]) -> GEXSnapshot:
    return snapshot_decode(_data(entry_id, fields))


def _gex_events(symbol: str, entry_id: str, fields: dict[bytes, bytes]) -> list[dict[str, Any]]:
    return [{"id": entry_id, **msgspec.to_builtins(_snapshot(entry_id, fields))}]


def _sc_events(symbol: str, entry_id: str, fields: dict[bytes, bytes]) -> list[dict[str, Any]]:
    snapshot = _snapshot(entry_id, fields)
    levels = {name: getattr(snapshot, name) for name in SC_FIELDS}
    return [{"id": entry_id, "line": sierra_history_line(snapshot), **levels}]


def _alert_events(symbol: str, entry_id: str, fields: dict[bytes, bytes]) -> list[dict[str, Any]]:
    values: dict[str, Any] = {key.decode(): value.decode() for key, value in fields.items()}
    # An alert written as one JSON document in `d` is sent as its fields.
    document = values.pop("d", None)
    if document is not None:
        parsed = loads(document)
        if isinstance(parsed, dict):
            values = {**values, **parsed}
        else:
            values["d"] = parsed
    return [{**values, "id": entry_id}]


def _contract(raw: str) -> str:
    symbol = canonical(raw, at=utc_now())
    keys.trades(symbol)  # raises, naming the symbol, when it is not a canonical name
    return symbol


def _ticker(raw: str) -> str:
    ticker = raw.strip().upper()
    keys.gex_snapshots(ticker)
    return ticker


def _everything(raw: str) -> str:
    if raw != ALL_SYMBOLS:
        raise ValueError(f"alerts are not per symbol: subscribe with symbols [{ALL_SYMBOLS!r}], not {raw!r}")
    return raw


TOPICS: dict[str, Topic] = {
    topic.name: topic
    for topic in (
        Topic("trades", Overflow.DISCONNECT, True, "/api/ticks", keys.trades, _contract, _trade_events),
        Topic("depth", Overflow.CONFLATE, True, "/api/depth/book", keys.depth, _contract, _depth_events),
        Topic("gex", Overflow.CONFLATE, False, "/api/gex/history", keys.gex_snapshots, _ticker, _gex_events),
        Topic("sc", Overflow.CONFLATE, False, "/api/gex/history", keys.gex_snapshots, _ticker, _sc_events),
        Topic(
            "alerts",
            Overflow.DISCONNECT,
            False,
            "/api/alerts/recent",
            lambda _: keys.ALERTS_FIRED,
            _everything,
            _alert_events,
        ),
    )
}
