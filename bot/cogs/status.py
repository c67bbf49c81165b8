"""Platform status in Discord: `!status` (streamers with state, rate and last message age, flush
lag per stream, Celery queue depths, the last beat heartbeat, circuit breaker states; orange when
the heartbeat is stale or a breaker is not closed) and `!streamer stop|start NAME` for server
administrators, through the same audited control service as the REST API (a ControlAction row,
done by the staff user `discord-bot` on behalf of the Discord user named in its parameters)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import discord
from discord.ext import commands
from django.contrib.auth import get_user_model

from apps.accounts.services import control_perform
from apps.core.clock import utc_now
from apps.core.exceptions import ApplicationError
from apps.core.queue_depths import queue_depths
from apps.marketdata.services.streamer_control import streamer_enable
from apps.marketdata.streamer_status import streamers_status_list
from apps.monitoring.metrics import BOT_COMMANDS as COMMANDS
from apps.monitoring.selectors import BeatHeartbeat, beat_heartbeat, breaker_states
from apps.storage.selectors import flush_status_list
from apps.trading.selectors import Requester
from bot.allowlist import cog_allowed
from bot.requesters import requester_of

BOT_USER = "discord-bot"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass
class StatusReply:
    content: str
    embed: discord.Embed | None = None


def _age(last_message_ms: str | None) -> str:
    if not last_message_ms:
        return "never"
    try:
        seconds = utc_now().timestamp() - float(last_message_ms) / 1000
    except ValueError:
        return "?"
    return f"{seconds:.0f} s ago"


def status_embed() -> discord.Embed:
    """Runs on a worker thread (the selectors read Redis)."""
    embed = discord.Embed(title="Platform status", colour=discord.Colour.green())
    lines = []
    for state in streamers_status_list():
        rate = state.status.get("messages_per_second", "0") if state.live else "0"
        lines.append(
            f"**{state.name}**: {state.state}, {rate}/s, last message {_age(state.status.get('last_message_ms'))}"
        )
    embed.add_field(name="Streamers", value="\n".join(lines) or "none", inline=False)
    flush = [f"{status.key}: {status.lag_entries} behind" for status in flush_status_list()]
    embed.add_field(name="Flush lag", value="\n".join(flush[:15]) or "nothing to flush", inline=False)
    queues = [f"{queue}: {depth}" for queue, depth in queue_depths()]
    embed.add_field(name="Queues", value=", ".join(queues) or "none", inline=False)
    beat, breakers = beat_heartbeat(), breaker_states()
    embed.add_field(name="Beat heartbeat", value=beat_line(beat), inline=False)
    embed.add_field(name="Breakers", value=", ".join(f"{name}: {state}" for name, state in breakers), inline=False)
    if beat.stale or any(state != "closed" for _, state in breakers):
        embed.colour = discord.Colour.orange()
    return embed


def beat_line(beat: BeatHeartbeat) -> str:
    if beat.last_run is None or beat.age_seconds is None:
        return "never recorded: is celery beat running?"
    line = f"{beat.last_run:%H:%M:%S} UTC ({beat.age_seconds:.0f} s ago)"
    return f"{line}, stale" if beat.stale else line


def streamer_switch(*, requester: Requester, name: str, enabled: bool) -> dict[str, Any]:
    """The REST API's audited control action, for a Discord server administrator."""
    user, _ = get_user_model().objects.get_or_create(username=BOT_USER, defaults={"is_staff": True})
    return control_perform(
        user=user,
        token=None,
        action="streamer.start" if enabled else "streamer.stop",
        params={"name": name, "discord_user": requester.user, "guild": requester.guild},
        perform=lambda: {"action": "start" if enabled else "stop", **streamer_enable(name=name, enabled=enabled)},
    )


class StatusCog(commands.Cog, name="status"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_check(self, ctx: commands.Context[Any]) -> bool:
        return await cog_allowed(ctx, cog="status")

    async def status_reply(self) -> StatusReply:
        return StatusReply("Status", embed=await asyncio.to_thread(status_embed))

    async def streamer_reply(self, *, requester: Requester, action: str, name: str) -> StatusReply:
        if not requester.is_admin:
            return StatusReply("Only a server administrator may stop or start a streamer.")
        if action not in ("stop", "start"):
            return StatusReply(f"Usage: !streamer stop|start NAME (got {action[:20]!r}).")
        if not _NAME.match(name):
            return StatusReply(f"{name[:40]!r} is not a streamer name.")
        try:
            result = await asyncio.to_thread(streamer_switch, requester=requester, name=name, enabled=action == "start")
        except ApplicationError as error:
            return StatusReply(f"Refused: {error.message}")
        return StatusReply(f"Streamer {name} {'started' if result['enabled'] else 'stopped'}.")

    @commands.command(name="status", help="!status - streamers, flush lag, queues, beat heartbeat, breakers")
    async def status(self, ctx: commands.Context[Any]) -> None:
        reply = await self.status_reply()
        COMMANDS.labels("status", "ok").inc()
        await ctx.send(reply.content, embed=reply.embed)  # type: ignore[arg-type]

    @commands.command(name="streamer", help="!streamer stop|start NAME - server administrators")
    async def streamer(self, ctx: commands.Context[Any], action: str = "", name: str = "") -> None:
        requester = requester_of(user=ctx.author, guild=ctx.guild, channel=ctx.channel)
        reply = await self.streamer_reply(requester=requester, action=action, name=name)
        await ctx.send(reply.content)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(StatusCog(bot))
