"""What a feed adapter provides to the streamer runner (`streamers/base.py`).

A feed client owns its connection and subscription state; its `parse` is a pure function of
one raw message (tested without a socket). The runner owns everything else: reconnects,
the write buffer, dead letters, gaps, the heartbeat watchdog, status and metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from apps.marketdata.events import Event


class ConnectionLostError(ConnectionError):
    """The feed's connection dropped or could not be made; the runner reconnects."""


class MalformedMessageError(ValueError):
    """A message the parser cannot turn into events. `kind` groups them for counting and logs."""

    def __init__(self, kind: str, reason: str, location: str = "") -> None:
        super().__init__(f"{kind}: {reason}" + (f" at {location}" if location else ""))
        self.kind = kind
        self.reason = reason
        self.location = location


class FeedClient(Protocol):
    name: str

    async def connect(self) -> None:
        """Open the connection; return only once it is ready for subscriptions."""

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Subscribe to canonical symbols (the client maps them to its own form)."""

    async def receive(self) -> bytes | str:
        """The next raw message; raises ConnectionLostError when the connection is gone."""

    def parse(self, raw: bytes | str, *, ts_recv: int) -> list[Event]:
        """Events in one raw message (possibly none, e.g. a heartbeat); raises MalformedMessageError."""

    async def close(self) -> None:
        """Release the connection; safe to call more than once."""


class FeedExhaustedError(Exception):
    """A finite feed (a replay) has nothing more to send; the runner stops cleanly."""
