"""The WebSocket door: one consumer class serves every topic; the path names the topic."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.realtime.auth import answered_subprotocol
from apps.realtime.session import ClientSession
from apps.realtime.topics import TOPICS

CLOSE_UNAUTHENTICATED = 4401
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
        self.session = ClientSession(
            topic=self.topic, send=self._send_text, close=self._close_with, limit=settings.REALTIME_QUEUE_FRAMES
        )
        self.session.start()

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
