"""UW socket frames -> events. Pure: one frame in, events out (none for an ack or a heartbeat).

Two framings arrive here:
- UW's: every frame a JSON 2-array `[channel, payload]`; a join ack is `[channel,
  {"response": {}, "status": "ok"}]`, told apart from data by having only those two keys.
- Phoenix V2: `[join_ref, ref, topic, event, payload]`; `phx_reply` answers a join or a heartbeat,
  `phx_error`/`phx_close` are the channel's state (the client rejoins), any other event is data
  of its topic.
The payload is decoded from its own JSON text (a `msgspec.Raw`), so numbers stay exact.
Bad input raises MalformedMessageError by kind: `malformed_frame`, `missing_field`,
`wrong_type`, `bad_number`, `unknown_channel`, `join_refused`, ...; the runner counts,
logs once per kind and dead-letters it, and the stream goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from apps.gex.snapshots import GEXSnapshot
from apps.gex.sources import GEXPayloadError
from apps.gex.uw_exposure import UWStrikeExposure, uw_spot_exposure_snapshot, uw_strike_exposure
from apps.uw.events import UWEvent
from apps.uw.parsing import (
    PayloadError,
    flow_alert_parse,
    market_tide_parse,
    news_parse,
    option_trade_parse,
    price_parse,
)
from streamers.feed import MalformedMessageError

# What the client returns after a pong when the socket was silent: no events, but a message, so
# the runner's watchdog sees the connection is alive.
KEEPALIVE = b""

UWMessage = UWEvent | GEXSnapshot | UWStrikeExposure


class BackfilledAlerts(msgspec.Struct, frozen=True):
    """Flow alerts the REST back-fill fetched after a gap, each as its JSON text."""

    alerts: tuple[bytes, ...]


class _Ack(msgspec.Struct, forbid_unknown_fields=True):
    status: str
    response: Any = None


_frame = msgspec.json.Decoder(list[msgspec.Raw])
_string = msgspec.json.Decoder(str)
_optional_string = msgspec.json.Decoder(str | None)
_ack = msgspec.json.Decoder(_Ack)


def _text(raw: msgspec.Raw, where: str) -> str:
    try:
        return _string.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise MalformedMessageError("malformed_frame", f"the {where} is not a string", where) from None


def _ack_of(raw: msgspec.Raw) -> _Ack | None:
    if b'"status"' not in bytes(raw):
        return None
    try:
        return _ack.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None  # has data keys besides: not an ack


def parse(message: bytes | str | BackfilledAlerts, *, ts_recv: int) -> list[UWMessage]:
    if isinstance(message, BackfilledAlerts):
        return [_payload(flow_alert_parse, alert, ts_recv=ts_recv, origin="rest") for alert in message.alerts]
    if not message:
        return []
    try:
        parts = _frame.decode(message)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise MalformedMessageError("malformed_frame", "not a JSON array", "frame") from None
    if len(parts) == 2:
        channel = _text(parts[0], "$[0]")
        ack = _ack_of(parts[1])
        if ack is not None:
            return _acknowledged(channel, ack)
        return _data(channel, parts[1], ts_recv=ts_recv)
    if len(parts) == 5:
        return _phoenix(parts, ts_recv=ts_recv)
    raise MalformedMessageError("malformed_frame", f"a frame of {len(parts)} elements (UW sends 2, Phoenix 5)", "frame")


def _phoenix(parts: list[msgspec.Raw], *, ts_recv: int) -> list[UWMessage]:
    topic, event = _text(parts[2], "$[2]"), _text(parts[3], "$[3]")
    if event == "phx_reply":
        ack = _ack_of(parts[4])
        if ack is None:
            raise MalformedMessageError("malformed_frame", "a phx_reply without a status", "$[4]")
        return _acknowledged(topic, ack)
    if event in ("phx_error", "phx_close") or topic == "phoenix":
        return []  # the channel's state: the client rejoins after phx_error
    return _data(topic, parts[4], ts_recv=ts_recv)


def _acknowledged(channel: str, ack: _Ack) -> list[UWMessage]:
    if ack.status == "ok":
        return []
    raise MalformedMessageError("join_refused", f"{channel!r} answered {ack.status!r}: {ack.response!r}", "$[1]")


def _payload(parse_one: Any, raw: msgspec.Raw | bytes, **kwargs: Any) -> Any:
    try:
        return parse_one(raw, **kwargs)
    except PayloadError as error:
        raise MalformedMessageError(error.kind, error.reason, error.location) from None
    except GEXPayloadError as error:
        raise MalformedMessageError("bad_gex", str(error), "$[1]") from None


# (channel name, whether it names a ticker) -> the payload's parser.
_CHANNELS: dict[tuple[str, bool], Callable[[msgspec.Raw, str, int], UWMessage]] = {
    ("option_trades", False): lambda raw, _, ts: _payload(option_trade_parse, raw, ts_recv=ts),
    ("option_trades", True): lambda raw, _, ts: _payload(option_trade_parse, raw, ts_recv=ts),
    ("flow-alerts", False): lambda raw, _, ts: _payload(flow_alert_parse, raw, ts_recv=ts),
    ("news", False): lambda raw, _, ts: _payload(news_parse, raw, ts_recv=ts),
    ("market_tide", False): lambda raw, _, ts: _payload(market_tide_parse, raw, ts_recv=ts, origin="socket"),
    ("price", True): lambda raw, ticker, ts: _payload(price_parse, raw, ticker=ticker, ts_recv=ts),
    ("gex", True): lambda raw, ticker, _: _payload(uw_spot_exposure_snapshot, raw, ticker=ticker),
    ("gex_strike", True): lambda raw, ticker, _: _payload(
        uw_strike_exposure, raw, ticker=ticker, channel_kind="gex_strike"
    ),
    ("gex_strike_expiry", True): lambda raw, ticker, _: _payload(
        uw_strike_exposure, raw, ticker=ticker, channel_kind="gex_strike_expiry"
    ),
}


def _data(channel: str, raw: msgspec.Raw, *, ts_recv: int) -> list[UWMessage]:
    name, _, ticker = channel.partition(":")
    parser = _CHANNELS.get((name, bool(ticker)))
    if parser is None:
        raise MalformedMessageError("unknown_channel", f"no channel {channel[:60]!r} is known", "$[0]")
    return [parser(raw, ticker, ts_recv)]
