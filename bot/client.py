"""The bot: a discord.py commands.Bot with the `!` prefix, cogs loaded in setup_hook, the slash
commands synced to each allowlisted guild, each disconnect recorded (metrics and status hash).
Reconnecting is discord.py's own."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import structlog
from discord.ext import commands

from apps.core.clock import utc_now
from apps.core.process_status import process_status_write
from apps.monitoring.metrics import BOT_COMMANDS as COMMANDS
from apps.monitoring.metrics import BOT_CONNECTED as CONNECTED
from apps.monitoring.metrics import BOT_DISCONNECTS as DISCONNECTS
from apps.trading.services.commands import command_refused_record
from bot.allowlist import NotAllowedHere, PipelineTree
from bot.requesters import requester_of

log = structlog.get_logger(__name__)
COGS = ("bot.cogs.trading", "bot.cogs.gex", "bot.cogs.status", "bot.cogs.alerts")
STATUS_NAME = "bot"


def _status(fields: dict[str, str | int | float], increment: str | None = None) -> None:
    process_status_write(name=STATUS_NAME, fields=fields, increment=increment)


class PipelineBot(commands.Bot):
    def __init__(self, *, guild_ids: list[int], cogs: tuple[str, ...] = COGS) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(command_prefix="!", intents=intents, tree_cls=PipelineTree)
        self.guild_ids = guild_ids
        self.cog_modules = cogs

    async def setup_hook(self) -> None:
        for module in self.cog_modules:
            await self.load_extension(module)
        for guild_id in self.guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        await asyncio.to_thread(_status, {"state": "starting", "cogs": ",".join(self.cog_modules)})

    async def on_ready(self) -> None:
        CONNECTED.set(1)
        await asyncio.to_thread(_status, {"state": "connected", "connected_since": utc_now().isoformat()})
        log.info("bot.ready", user=str(self.user), guilds=len(self.guilds))

    async def on_resumed(self) -> None:
        CONNECTED.set(1)
        await asyncio.to_thread(_status, {"state": "connected", "connected_since": utc_now().isoformat()})

    async def on_disconnect(self) -> None:
        CONNECTED.set(0)
        DISCONNECTS.inc()
        await asyncio.to_thread(
            _status, {"state": "disconnected", "last_disconnect": utc_now().isoformat()}, "disconnects"
        )
        log.warning("bot.disconnected")

    async def on_command_error(self, context: commands.Context[Any], exception: commands.CommandError) -> None:
        reply = command_error_reply(context.message.content, exception)
        refused = isinstance(exception, NotAllowedHere)
        COMMANDS.labels(context.cog.qualified_name if context.cog else "none", "refused" if refused else "error").inc()
        requester = requester_of(user=context.author, guild=context.guild, channel=context.channel)
        if isinstance(exception, commands.CommandNotFound):
            rule = "unknown_command"
        else:
            rule = "not_allowlisted" if refused else "bad_command"
        await asyncio.to_thread(
            command_refused_record, requester=requester, command=context.message.content, rule=rule, message=reply
        )
        # In the channel for a `!` command; only to the person who asked for a slash command.
        await context.send(reply, ephemeral=True)


def command_error_reply(content: str, exception: commands.CommandError) -> str:
    """The reply to a command that did not run, naming what was wrong."""
    if isinstance(exception, commands.CommandNotFound):
        word = content.split(maxsplit=1)[0] if content.split() else content
        return f"Unknown command {word[:40]!r}: try !help."
    if isinstance(exception, commands.UserInputError):
        return f"That command's input is not right: {exception}"
    if isinstance(exception, NotAllowedHere):
        return str(exception)
    if isinstance(exception, commands.CheckFailure):
        return "This command is not allowed here."
    return f"That command failed: {type(exception).__name__}."
