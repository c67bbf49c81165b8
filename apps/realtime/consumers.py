"""The WebSocket door: one consumer class serves every topic; the path names the topic."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.core import keys
from apps.core.exceptions import BadInputError, NotFoundError
from apps.marketdata.replays import keyspace_for
from apps.realtime.auth import answered_subprotocol
from apps.realtime.session import ClientSession
from apps.realtime.topics import TOPICS

CLOSE_UNAUTHENTICATED = 4401
# `?replay=<id>`: an id no replay can have (4422), or no such replay (4404); the reason names it.
CLOSE_BAD_REPLAY = 4422
CLOSE_UNKNOWN_REPLAY = 4404
# At most 123 bytes: the limit of a close frame's reason.
UNAUTHENTICATED_REASON = (
    "authentication required: log in, send Authorization: Bearer <token>,"
    " or offer subprotocols pipeline.v1, token.<token>"
)


class TopicConsumer(AsyncWebsocketConsumer):
    def __init__(self, *args: Any, topic: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic = TOPICS[topic]
        self.session: ClientSession | None = None

    async def connect(self) -> None:
        # Accept first, then close with a code and reason: a browser sees neither from a refused handshake.
        await self.accept(subprotocol=answered_subprotocol(self.scope))
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED, reason=UNAUTHENTICATED_REASON)
            return
        keyspace = await self._keyspace()
        if keyspace is None:
            return
        self.session = ClientSession(
            topic=self.topic.in_keyspace(keyspace),
            send=self._send_text,
            close=self._close_with,
            limit=settings.REALTIME_QUEUE_FRAMES,
        )
        self.session.start()

    async def _keyspace(self) -> keys.KeySpace | None:
        """The store `?replay=<id>` names (live without it); None once the socket is closed for a
        bad or unknown id. Only the query string's `replay` is read: a token never goes in a URL."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        replay = query.get("replay", [None])[-1]
        try:
            return await sync_to_async(keyspace_for)(replay_id=replay)
        except BadInputError:
            await self.close(code=CLOSE_BAD_REPLAY, reason=f"replay: {str(replay)[:48]!r} is not a replay id")
        except NotFoundError:
            reason = f"no replay {replay!r}: it never ran, expired or was deleted"
            await self.close(code=CLOSE_UNKNOWN_REPLAY, reason=reason)
        return None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is not None:
            await self.session.handle(text_data)

    async def disconnect(self, code: int) -> None:
        if self.session is not None:
            await self.session.end()

    async def _send_text(self, text: str) -> None:
        # Straight to the server: this runs once per frame and client, the hottest call of all.
        await self.base_send({"type": "websocket.send", "text": text})

    async def _close_with(self, code: int, reason: str) -> None:
        await self.close(code=code, reason=reason)
