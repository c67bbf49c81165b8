"""Reads of the trading rows: the kill switch, the allowlists, today's placements, the audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from apps.core.clock import utc_now
from apps.trading.models import BotAllowlistEntry, KillSwitch, TradeAudit

COGS = tuple(BotAllowlistEntry.Cog.values)


@dataclass(frozen=True)
class Requester:
    """Who asks and where: Discord ids (as strings), the roles they hold, whether they administer
    the guild (the kill switch needs it). `source` is discord, api or admin."""

    user: str
    guild: str = ""
    channel: str = ""
    roles: tuple[str, ...] = field(default_factory=tuple)
    is_admin: bool = False
    source: str = "discord"


def kill_switch_on() -> bool:
    """Read from the database at every call (never cached): a flip applies to the next check."""
    return KillSwitch.objects.filter(pk=1, on=True).exists()


def kill_switch_state() -> KillSwitch:
    return KillSwitch.objects.filter(pk=1).first() or KillSwitch(pk=1)


def allowlist_refusal(*, cog: str, requester: Requester) -> str | None:
    """None when `requester` may use `cog`, else the kind of entry that is missing (guild,
    channel, role, user). Nothing listed for a cog's guilds refuses everyone (default deny).

    The other cogs: the guild must be listed; the channel too when channels are listed; the user
    or one of their roles when users or roles are listed. Trading is stricter: guild, channel and
    user must each be listed, and one of the user's roles as well when roles are listed."""
    entries: dict[str, set[str]] = {kind: set() for kind in BotAllowlistEntry.Kind.values}
    for kind, discord_id in BotAllowlistEntry.objects.filter(cog=cog).values_list("kind", "discord_id"):
        entries[kind].add(discord_id)
    if requester.guild not in entries["guild"]:
        return "guild"
    strict = cog == BotAllowlistEntry.Cog.TRADING
    if (strict or entries["channel"]) and requester.channel not in entries["channel"]:
        return "channel"
    roles_ok = bool(entries["role"] & set(requester.roles))
    if strict:
        if requester.user not in entries["user"]:
            return "user"
        return "role" if entries["role"] and not roles_ok else None
    listed = entries["user"] or entries["role"]
    if listed and requester.user not in entries["user"] and not roles_ok:
        return "user" if entries["user"] else "role"
    return None


def orders_placed_since(*, since: datetime) -> int:
    return TradeAudit.objects.filter(kind=TradeAudit.Kind.PLACED, at__gte=since).count()


def start_of_day() -> datetime:
    now = utc_now()
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


def audit_recent(*, limit: int = 50) -> list[TradeAudit]:
    return list(TradeAudit.objects.all()[:limit])


def allowlisted_guilds() -> list[str]:
    """Every guild listed for some cog (the bot syncs its slash commands to these)."""
    rows = BotAllowlistEntry.objects.filter(kind=BotAllowlistEntry.Kind.GUILD)
    return sorted({value for value in rows.values_list("discord_id", flat=True) if value.isdigit()})
