"""A fake of the part of Discord's REST API (v10) a bot's replies use, over real HTTP on 127.0.0.1.

discord.py talks to it unchanged once `discord.http.Route.BASE` points here: `GET /users/@me`
and `GET /oauth2/applications/@me` (what `Client.login` asks), `POST /channels/{id}/messages` (a `!` command's reply) and
`POST /interactions/{id}/{token}/callback?with_response=1` (a slash command's reply; flag 64 is
ephemeral: only the person who asked sees it). Each is answered with the documented payload
shapes (a message object; an interaction callback response with the message as its resource)
and recorded, so tests assert what the bot sent and how.

    async with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api)
        await bot.login(FAKE_BOT_TOKEN)  # cogs loaded by setup_hook; no gateway
        ...
        assert fake.interaction_replies[0].ephemeral
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

FAKE_BOT_TOKEN = "fake-bot-token-0123456789"  # the fake's own, not a secret
BOT_USER = {
    "id": "1000",
    "username": "pipeline-bot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
EPHEMERAL = 1 << 6


def _json(payload: dict[str, Any], status: int = 200) -> web.Response:
    # Discord answers `Content-Type: application/json` exactly (discord.py decodes only that).
    return web.Response(body=json.dumps(payload).encode(), status=status, headers={"Content-Type": "application/json"})


@dataclass(frozen=True)
class Sent:
    """One reply the bot sent: where, the callback type (interactions), the body's fields."""

    where: str
    body: dict[str, Any]
    kind: int = 0

    @property
    def content(self) -> str:
        return str(self.body.get("content") or "")

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.body.get("flags") or 0) & EPHEMERAL)


@dataclass
class FakeDiscord:
    api: str = ""
    channel_messages: list[Sent] = field(default_factory=list)
    interaction_replies: list[Sent] = field(default_factory=list)
    unauthorized: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1_400_000_000_000_000_000))
    _runner: web.AppRunner | None = None

    def _message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": channel_id,
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": "2026-03-10T17:00:00.000000+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0),
            "components": [],
        }

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.content_type == "multipart/form-data":  # a reply with a file
            form = await request.post()
            return dict(json.loads(str(form["payload_json"])))
        return dict(await request.json())

    def _authorized(self, request: web.Request) -> bool:
        if request.headers.get("Authorization") == f"Bot {FAKE_BOT_TOKEN}":
            return True
        self.unauthorized += 1
        return False

    async def me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(BOT_USER)

    async def application(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(
            {
                "id": BOT_USER["id"],
                "name": "pipeline",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": {**BOT_USER, "id": "999", "username": "owner", "bot": False},
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "summary": "",
            }
        )

    async def channel_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        channel_id = request.match_info["channel_id"]
        body = await self._body(request)
        self.channel_messages.append(Sent(where=channel_id, body=body))
        return _json(self._message(channel_id, body))

    async def interaction_callback(self, request: web.Request) -> web.Response:
        # Interaction callbacks are authorized by the interaction's token in the path, not a header.
        payload = await self._body(request)
        data = dict(payload.get("data") or {})
        kind = int(payload["type"])
        self.interaction_replies.append(Sent(where=request.match_info["token"], body=data, kind=kind))
        message = self._message("0", data)
        answer = {
            "interaction": {
                "id": request.match_info["interaction_id"],
                "type": 2,
                "response_message_id": message["id"],
                "response_message_loading": False,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            },
            "resource": {"type": kind, "message": message},
        }
        return _json(answer)

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self.channel_message)
        app.router.add_post("/api/v10/interactions/{interaction_id}/{token}/callback", self.interaction_callback)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.api = f"http://127.0.0.1:{port}/api/v10"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
