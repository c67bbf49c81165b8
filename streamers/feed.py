"""What a feed adapter provides to the streamer runner (`streamers/runner.py`).

A feed client owns its connection and subscription state; its `parse` is a pure function of
one message (tested without a socket). The runner owns everything else: reconnects, the write
buffer, dead letters, gaps, the heartbeat watchdog, status and metrics.

A message is whatever the client's `receive` returns: the bytes or text of a socket frame (the
simulator, the replay), or typed objects an SDK already decoded (tastytrade's DXLinkStreamer
yields pydantic events). `parse` turns one message into normalized events; for a client whose
`receive` already returns them, `events_of` is the whole parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar, runtime_checkable

from apps.marketdata.events import Event

MessageT = TypeVar("MessageT")


class ConnectionLostError(ConnectionError):
    """The feed's connection dropped or could not be made; the runner reconnects."""


class MalformedMessageError(ValueError):
    """A message the parser cannot turn into events. `kind` groups them for counting and logs."""

    def __init__(self, kind: str, reason: str, location: str = "") -> None:
        super().__init__(f"{kind}: {reason}" + (f" at {location}" if location else ""))
        self.kind = kind
        self.reason = reason
        self.location = location


class FeedExhaustedError(Exception):
    """A finite feed (a replay) has nothing more to send; the runner stops cleanly."""


class FeedClient(Protocol[MessageT]):
    name: str

    async def connect(self) -> None:
        """Open the connection; return only once it is ready for subscriptions."""

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Subscribe to canonical symbols (the client maps them to its own form)."""

    async def receive(self) -> MessageT:
        """The next message; raises ConnectionLostError when the connection is gone."""

    def parse(self, message: MessageT, *, ts_recv: int) -> list[Event]:
        """Events in one message (possibly none, e.g. a heartbeat); raises MalformedMessageError."""

    async def close(self) -> None:
        """Release the connection; safe to call more than once."""


@runtime_checkable
class FinishingClient(Protocol):
    """A client with something to record once the runner has written its last batch (a replay
    marks its sandbox finished or stopped): the runner calls `finish()` last."""

    async def finish(self) -> None: ...


def events_of(message: Sequence[Event], *, ts_recv: int) -> list[Event]:
    """The parse of a client whose `receive` already returns normalized events: they are
    checked to be events (anything else is a malformed message, dead-lettered like a bad frame)."""
    events = list(message)
    for index, event in enumerate(events):
        if not isinstance(event, Event):
            raise MalformedMessageError("not_an_event", f"{type(event).__name__} is not an event", f"[{index}]")
    return events
