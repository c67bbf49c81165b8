"""Who asked and where, from discord.py's objects, as the trading services take it."""

from __future__ import annotations

from typing import Any

import discord

from apps.trading.selectors import Requester


def requester_of(*, user: discord.abc.User, guild: discord.abc.Snowflake | None, channel: object) -> Requester:
    roles: tuple[str, ...] = ()
    is_admin = False
    if isinstance(user, discord.Member):
        roles = tuple(str(role.id) for role in user.roles)
        is_admin = user.guild_permissions.administrator
    return Requester(
        user=str(user.id),
        guild=str(guild.id) if guild is not None else "",
        channel=str(getattr(channel, "id", "")),
        roles=roles,
        is_admin=is_admin,
        source="discord",
    )


def interaction_requester(interaction: discord.Interaction[Any]) -> Requester:
    """The requester of a slash command (its guild and channel by id: they need not be cached)."""
    guild = discord.Object(id=interaction.guild_id) if interaction.guild_id else None
    channel = interaction.channel or (discord.Object(id=interaction.channel_id) if interaction.channel_id else None)
    return requester_of(user=interaction.user, guild=guild, channel=channel)
