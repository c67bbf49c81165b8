"""Operator requests to a running streamer (the REST API's control endpoints append them to
`keys.streamer_control(name)`); the runner reads them at each housekeeping tick."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
import structlog

from apps.core import keys
from apps.core.codec import text as _text

log = structlog.get_logger(__name__)

ACTIONS = frozenset({"resubscribe"})


class ControlRequests:
    def __init__(self, client: redis.asyncio.Redis, *, name: str, keyspace: keys.KeySpace = keys.LIVE) -> None:
        self.client = client
        self.name = name
        # A replay's process reads its sandbox's control stream, never the live streamer's.
        self.key = keyspace.scoped(keys.streamer_control(name))
        self._seen = "0-0"

    async def skip_earlier(self) -> None:
        """Requests made before this process started are not for it: start after the last one.
        (Redis down at start: from the beginning; an extra resubscription does no harm.)"""
        try:
            last: Any = await self.client.xrevrange(self.key, count=1)
        except redis.RedisError:
            return
        if last:
            self._seen = _text(last[0][0])

    async def new_actions(self) -> set[str]:
        """The known actions requested since the last call; several requests of one action are
        one. Unknown actions are logged and left out."""
        entries: Any = await self.client.xrange(self.key, min=f"({self._seen}", max="+")
        if not entries:
            return set()
        self._seen = _text(entries[-1][0])
        actions = {_text(fields.get(b"action", b"")) for _, fields in entries}
        for unknown in sorted(actions - ACTIONS):
            log.warning("streamer.control_unknown", streamer=self.name, action=unknown)
        return actions & ACTIONS
