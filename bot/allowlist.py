"""The admin's allowlists at the bot's doors: a refused prefix command answers in the channel, a
refused slash command answers ephemerally (only the person who asked sees it); nothing runs.

Prefix and hybrid commands are gated by each cog's `cog_check` (raising `NotAllowedHere`, which
`PipelineBot.on_command_error` answers); slash commands by `PipelineTree.interaction_check`,
before discord.py runs any check of the command (a failed check there would otherwise leave the
interaction unanswered)."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from apps.monitoring.metrics import BOT_COMMANDS as COMMANDS
from apps.trading.selectors import allowlist_refusal
from bot.requesters import interaction_requester, requester_of

log = structlog.get_logger(__name__)
COG_NAMES = ("gex", "status", "alerts", "trading")
_WHOM = {"guild": "this server", "channel": "this channel", "role": "your roles", "user": "you"}


def refusal_message(*, cog: str, missing: str) -> str:
    """The polite refusal, naming what the allowlist lacks."""
    return (
        f"Sorry, the {cog} commands are not enabled for {_WHOM.get(missing, missing)}. "
        "A server administrator can allow them (bot allowlist in the admin)."
    )


class NotAllowedHere(commands.CheckFailure):
    def __init__(self, *, cog: str, missing: str) -> None:
        super().__init__(refusal_message(cog=cog, missing=missing))
        self.cog = cog
        self.missing = missing


async def cog_allowed(ctx: commands.Context[Any], *, cog: str) -> bool:
    """A cog's `cog_check`: True, or NotAllowedHere naming what is missing."""
    requester = requester_of(user=ctx.author, guild=ctx.guild, channel=ctx.channel)
    missing = await asyncio.to_thread(allowlist_refusal, cog=cog, requester=requester)
    if missing is None:
        return True
    raise NotAllowedHere(cog=cog, missing=missing)


def _cog_of(interaction: discord.Interaction[Any]) -> str | None:
    command = interaction.command
    binding = getattr(command, "binding", None)
    name = getattr(binding, "qualified_name", None)
    return name if name in COG_NAMES else None


class PipelineTree(app_commands.CommandTree[Any]):
    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        cog = _cog_of(interaction)
        if cog is None:
            return True
        missing = await asyncio.to_thread(allowlist_refusal, cog=cog, requester=interaction_requester(interaction))
        if missing is None:
            return True
        COMMANDS.labels(cog, "refused").inc()
        await interaction.response.send_message(refusal_message(cog=cog, missing=missing), ephemeral=True)
        return False

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /) -> None:
        log.warning("bot.app_command_failed", command=getattr(interaction.command, "name", ""), error=repr(error))
        if not interaction.response.is_done():
            await interaction.response.send_message(f"That command failed: {type(error).__name__}.", ephemeral=True)
