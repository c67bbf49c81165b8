"""WebSocket URLs: /ws/<topic>; any other path is closed with 4404 and the list of topics."""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from apps.realtime.auth import answered_subprotocol
from apps.realtime.consumers import TopicConsumer
from apps.realtime.topics import TOPICS

CLOSE_NOT_FOUND = 4404


class UnknownTopicConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept(subprotocol=answered_subprotocol(self.scope))
        topics = ", ".join(f"/ws/{name}" for name in TOPICS)
        await self.close(code=CLOSE_NOT_FOUND, reason=f"no such topic; use one of {topics}")


websocket_urlpatterns = [
    *(path(f"ws/{name}", TopicConsumer.as_asgi(topic=name)) for name in TOPICS),
    re_path(r"", UnknownTopicConsumer.as_asgi()),
]
