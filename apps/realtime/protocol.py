"""The topic protocol: what a client may send, checked with errors that name the bad field, and the
control messages the server sends back.

client → {"action": "subscribe", "symbols": ["ESZ26"], "since": {"ESZ26": "<last id seen>"}}
client → {"action": "unsubscribe", "symbols": ["ESZ26"]}
server → {"type": "subscribed" | "unsubscribed", "topic": ..., "symbols": [...]}
server → {"type": "events", "topic": ..., "symbol": ..., "events": [...]}   (topics.Topic.frames: one stream
         entry, or several consecutive entries the relay read at once; every event carries its id)
server → {"type": "error", "reason": ...}
server → {"type": "conflated", "topic": ..., "symbol": ..., "skipped": n, ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apps.core.clock import utc_now
from apps.core.codec import DecodeError, dumps, loads
from apps.core.exceptions import ApplicationError
from apps.core.positions import StreamPosition
from apps.realtime.topics import Frame, PositionError, Topic

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SYMBOLS = 100


class ProtocolError(ApplicationError):
    """A client message the server cannot act on; the reason is sent back and the connection stays open."""


@dataclass(frozen=True)
class Subscribe:
    symbols: tuple[str, ...]
    since: dict[str, StreamPosition] = field(default_factory=dict)


@dataclass(frozen=True)
class Unsubscribe:
    symbols: tuple[str, ...]


Message = Subscribe | Unsubscribe


def _symbols(topic: Topic, value: Any) -> tuple[tuple[str, ...], dict[str, str]]:
    """Canonical symbols in the client's order (duplicates dropped), and each raw name's canonical one."""
    if not isinstance(value, list) or not value:
        raise ProtocolError('symbols: expected a non-empty list of strings, e.g. ["ESZ26"]')
    if len(value) > MAX_SYMBOLS:
        raise ProtocolError(f"symbols: at most {MAX_SYMBOLS} per message, got {len(value)}")
    resolved: dict[str, str] = {}
    for index, raw in enumerate(value):
        if not isinstance(raw, str):
            raise ProtocolError(f"symbols[{index}]: expected a string, got {type(raw).__name__}")
        try:
            resolved[raw] = topic.resolve(raw)
        except ValueError as error:
            raise ProtocolError(f"symbols[{index}]: {error}") from None
    return tuple(dict.fromkeys(resolved.values())), resolved


def _since(topic: Topic, value: Any, resolved: dict[str, str], now: datetime) -> dict[str, StreamPosition]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError('since: expected an object of symbol → last id seen, e.g. {"ESZ26": "1764000000000-0:41"}')
    positions: dict[str, StreamPosition] = {}
    for raw, text in value.items():
        symbol = resolved.get(raw)
        if symbol is None:
            raise ProtocolError(f"since[{raw!r}]: not among this message's symbols")
        if not isinstance(text, str):
            raise ProtocolError(f"since[{raw!r}]: expected a string id, got {type(text).__name__}")
        try:
            positions[symbol] = topic.position(text, now=now)
        except PositionError as error:
            raise ProtocolError(f"since[{raw!r}]: {error}") from None
    return positions


def message_parse(*, topic: Topic, text: str | None, now: datetime | None = None) -> Message:
    """A client's text frame as a Subscribe or Unsubscribe; ProtocolError naming what is wrong.
    Resume positions are checked against `now` (the server's clock by default)."""
    if text is None:
        raise ProtocolError("binary frames are not understood: send JSON text")
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message too long: {len(text)} characters, at most {MAX_MESSAGE_BYTES}")
    try:
        content = loads(text)
    except DecodeError as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(content, dict):
        raise ProtocolError('expected a JSON object such as {"action": "subscribe", "symbols": [...]}')
    action = content.get("action")
    if action not in ("subscribe", "unsubscribe"):
        raise ProtocolError(f"action: {action!r} is not one of 'subscribe', 'unsubscribe'")
    symbols, resolved = _symbols(topic, content.get("symbols"))
    if action == "unsubscribe":
        return Unsubscribe(symbols)
    return Subscribe(symbols, _since(topic, content.get("since"), resolved, now or utc_now()))


def control(message: dict[str, Any]) -> Frame:
    return Frame(dumps(message).decode())


def subscribed(*, topic: Topic, symbols: tuple[str, ...]) -> Frame:
    return control({"type": "subscribed", "topic": topic.name, "symbols": list(symbols)})


def unsubscribed(*, topic: Topic, symbols: tuple[str, ...]) -> Frame:
    return control({"type": "unsubscribed", "topic": topic.name, "symbols": list(symbols)})


def error(reason: str) -> Frame:
    return control({"type": "error", "reason": reason})


def position_expired(*, topic: Topic, symbol: str, position: StreamPosition) -> Frame:
    return error(
        f"position {position} of {symbol} is no longer in the hot store; use {topic.history} for older data"
        " (continuing live)"
    )
