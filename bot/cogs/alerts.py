"""Alerts in Discord: the bot carries the alert engine's Discord action for rules that name a
`channel_id` (the route `apps.alerts.actions.discord.discord_route_register` installs), sending
through its gateway session with per-channel rate limiting; it also performs due deliveries
(claimed, so a Celery worker doing the same never sends one twice). `!alerts` / `/alerts` lists
the rules with their mutes; `!alert mute RULE 30m` / `/alert mute` silences a rule for a while
(its matches are recorded but not sent) and `!alert unmute RULE` ends it (apps/alerts services)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands, tasks

from apps.alerts.actions import Outcome
from apps.alerts.actions.discord import discord_route_register
from apps.alerts.deliveries import deliveries_run
from apps.alerts.selectors import RuleSummary, rules_summary
from apps.alerts.services import rule_mute, rule_unmute
from apps.core.exceptions import ApplicationError
from apps.monitoring.metrics import BOT_COMMANDS as COMMANDS
from apps.trading.selectors import Requester
from bot.allowlist import cog_allowed
from bot.requesters import interaction_requester, requester_of

log = structlog.get_logger(__name__)
# Discord lets a bot post about 5 messages per 5 s in one channel.
PER_CHANNEL = 5
WINDOW_SECONDS = 5.0
SEND_TIMEOUT_SECONDS = 30.0


class ChannelRateLimit:
    """At most `count` sends per `window` seconds per channel: `wait_for` says how long the next
    send to a channel must wait, `record` notes a send."""

    def __init__(self, *, count: int = PER_CHANNEL, window: float = WINDOW_SECONDS) -> None:
        self.count = count
        self.window = window
        self.sent: dict[str, deque[float]] = defaultdict(deque)

    def wait_for(self, channel_id: str, now: float) -> float:
        times = self.sent[channel_id]
        while times and now - times[0] >= self.window:
            times.popleft()
        return 0.0 if len(times) < self.count else self.window - (now - times[0])

    def record(self, channel_id: str, now: float) -> None:
        self.sent[channel_id].append(now)


@dataclass
class AlertReply:
    content: str
    # A refusal: only the person who asked sees it when they asked with a slash command.
    ephemeral: bool = False


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def rule_line(rule: RuleSummary) -> str:
    line = f"{'on ' if rule.enabled else 'off'} **{rule.name}** ({rule.source})"
    if rule.muted_until is not None:
        line += f", muted until {_when(rule.muted_until)} by {rule.muted_by}"
    return line


def mute_words(words: tuple[str, ...]) -> tuple[str, str]:
    """`big prints 30m` (or `"big prints" 30m`) -> the rule's name and the duration."""
    if len(words) < 2:
        return " ".join(words), ""
    return " ".join(words[:-1]), words[-1]


def _who(requester: Requester) -> str:
    return f"discord:{requester.user}"


class AlertsCog(commands.Cog, name="alerts"):
    alert_group = app_commands.Group(name="alert", description="Mute or unmute an alert rule")

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.limits = ChannelRateLimit()
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.loop: asyncio.AbstractEventLoop | None = None

    async def cog_load(self) -> None:
        self.loop = asyncio.get_running_loop()
        discord_route_register(self.route)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Deliveries start once the gateway session is up (they need the channels).
        if not self.deliver.is_running():
            _ = self.deliver.start()

    async def cog_unload(self) -> None:
        self.deliver.cancel()
        discord_route_register(None)

    async def cog_check(self, ctx: commands.Context[Any]) -> bool:
        return await cog_allowed(ctx, cog="alerts")

    # -- the route: called on a delivery thread, sends on the bot's loop ----------------------

    def route(self, channel_id: str, content: str) -> Outcome:
        if self.loop is None:
            return Outcome(ok=False, error="the bot is not running")
        future = asyncio.run_coroutine_threadsafe(self.send(channel_id, content), self.loop)
        try:
            return future.result(timeout=SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            future.cancel()
            return Outcome(ok=False, error=f"Discord did not take the message within {SEND_TIMEOUT_SECONDS:g} s")

    async def send(self, channel_id: str, content: str) -> Outcome:
        channel = self.bot.get_channel(int(channel_id))
        if channel is None or not hasattr(channel, "send"):
            return Outcome(ok=False, error=f"the bot sees no text channel {channel_id}", retryable=False)
        async with self.locks[channel_id]:
            wait = self.limits.wait_for(channel_id, time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await channel.send(content)
            except Exception as error:  # noqa: BLE001 - any Discord failure is the delivery's outcome
                return Outcome(ok=False, error=f"{type(error).__name__}: {error}"[:300])
            self.limits.record(channel_id, time.monotonic())
        return Outcome(ok=True)

    @tasks.loop(seconds=2.0)
    async def deliver(self) -> None:
        try:
            await asyncio.to_thread(deliveries_run)
        except Exception as error:  # noqa: BLE001 - the next round tries again
            log.warning("bot.alert_deliveries_failed", error=type(error).__name__)

    # -- commands -----------------------------------------------------------------------------

    async def alerts_reply(self) -> str:
        rules = await asyncio.to_thread(rules_summary)
        if not rules:
            return "No alert rules."
        return "\n".join(rule_line(rule) for rule in rules)[:2000]

    async def mute_reply(self, *, requester: Requester, rule: str, duration: str) -> AlertReply:
        if not rule.strip() or not duration.strip():
            return AlertReply("Usage: !alert mute RULE DURATION (e.g. !alert mute big prints 30m).", ephemeral=True)
        try:
            mute = await asyncio.to_thread(rule_mute, rule_name=rule, duration=duration, by=_who(requester))
        except ApplicationError as error:
            COMMANDS.labels("alerts", "refused").inc()
            return AlertReply(f"Not muted: {error.message}.", ephemeral=True)
        COMMANDS.labels("alerts", "ok").inc()
        return AlertReply(
            f"Muted **{mute.rule.name}** until {_when(mute.until)}: its alerts are recorded but not sent."
        )

    async def unmute_reply(self, *, requester: Requester, rule: str) -> AlertReply:
        if not rule.strip():
            return AlertReply("Usage: !alert unmute RULE.", ephemeral=True)
        try:
            unmuted = await asyncio.to_thread(rule_unmute, rule_name=rule, by=_who(requester))
        except ApplicationError as error:
            COMMANDS.labels("alerts", "refused").inc()
            return AlertReply(f"Not unmuted: {error.message}.", ephemeral=True)
        COMMANDS.labels("alerts", "ok").inc()
        return AlertReply(f"Unmuted **{unmuted.name}**: its alerts are sent again.")

    @commands.hybrid_command(name="alerts", help="!alerts - the alert rules and their mutes")  # type: ignore[arg-type]
    async def alerts(self, ctx: commands.Context[commands.Bot]) -> None:
        COMMANDS.labels("alerts", "ok").inc()
        await ctx.send(await self.alerts_reply())

    @commands.group(name="alert", invoke_without_command=True, help="!alert mute RULE 30m | !alert unmute RULE")
    async def alert(self, ctx: commands.Context[commands.Bot]) -> None:
        await ctx.send("Usage: !alert mute RULE DURATION (30m, 2h, 1h30m, 1d) or !alert unmute RULE.")

    # discord.py's typing of a group's subcommand decorator does not accept `*words` (it works).
    @alert.command(name="mute", help="!alert mute RULE 30m - record but do not send its alerts for a while")  # type: ignore[arg-type]
    async def alert_mute(self, ctx: commands.Context[commands.Bot], *words: str) -> None:
        requester = requester_of(user=ctx.author, guild=ctx.guild, channel=ctx.channel)
        rule, duration = mute_words(words)
        await ctx.send((await self.mute_reply(requester=requester, rule=rule, duration=duration)).content)

    @alert.command(name="unmute", help="!alert unmute RULE - send the rule's alerts again")  # type: ignore[arg-type]
    async def alert_unmute(self, ctx: commands.Context[commands.Bot], *words: str) -> None:
        requester = requester_of(user=ctx.author, guild=ctx.guild, channel=ctx.channel)
        await ctx.send((await self.unmute_reply(requester=requester, rule=" ".join(words))).content)

    @alert_group.command(name="mute", description="Record but do not send a rule's alerts for a while")
    @app_commands.describe(rule="the rule's name (!alerts lists them)", duration="e.g. 30m, 2h, 1h30m, 1d")
    async def slash_mute(self, interaction: discord.Interaction[Any], rule: str, duration: str) -> None:
        reply = await self.mute_reply(requester=interaction_requester(interaction), rule=rule, duration=duration)
        await interaction.response.send_message(reply.content, ephemeral=reply.ephemeral)

    @alert_group.command(name="unmute", description="Send a muted rule's alerts again")
    @app_commands.describe(rule="the rule's name")
    async def slash_unmute(self, interaction: discord.Interaction[Any], rule: str) -> None:
        reply = await self.unmute_reply(requester=interaction_requester(interaction), rule=rule)
        await interaction.response.send_message(reply.content, ephemeral=reply.ephemeral)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AlertsCog(bot))
