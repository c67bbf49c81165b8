"""Alerts in Discord: the bot carries the alert engine's Discord action for rules that name a
`channel_id` (the route `apps.alerts.actions.discord.discord_route_register` installs), sending
through its gateway session with per-channel rate limiting; it also performs due deliveries
(claimed, so a Celery worker doing the same never sends one twice). `!alerts` lists the rules."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from typing import Any

import structlog
from discord.ext import commands, tasks

from apps.alerts.actions import Outcome
from apps.alerts.actions.discord import discord_route_register
from apps.alerts.deliveries import deliveries_run
from apps.alerts.selectors import rules_summary
from apps.monitoring.metrics import BOT_COMMANDS as COMMANDS
from apps.trading.selectors import allowlist_refusal
from bot.requesters import requester_of

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


class AlertsCog(commands.Cog, name="alerts"):
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
        requester = requester_of(user=ctx.author, guild=ctx.guild, channel=ctx.channel)
        return await asyncio.to_thread(allowlist_refusal, cog="alerts", requester=requester) is None

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
        return "\n".join(f"{'on ' if enabled else 'off'} **{name}** ({source})" for name, enabled, source in rules)[
            :2000
        ]

    @commands.command(name="alerts", help="!alerts - the alert rules")
    async def alerts(self, ctx: commands.Context[Any]) -> None:
        COMMANDS.labels("alerts", "ok").inc()
        await ctx.send(await self.alerts_reply())


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AlertsCog(bot))
