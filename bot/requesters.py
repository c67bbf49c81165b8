"""Who asked and where, from discord.py's objects, as the trading services take it."""

from __future__ import annotations

import discord

from apps.trading.selectors import Requester


def requester_of(*, user: discord.abc.User, guild: discord.Guild | None, channel: object) -> Requester:
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
