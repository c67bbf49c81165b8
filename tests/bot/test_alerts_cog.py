"""The alerts cog without a Discord connection: the bot's route is installed for the alert
engine's Discord action, a channel the bot cannot see is a failed (not retried) delivery, the
per-channel rate limit, and `!alerts`."""

from __future__ import annotations

import asyncio

import pytest

from apps.alerts.action_specs import DiscordAction
from apps.alerts.actions import discord as discord_action
from apps.alerts.models import AlertRule
from bot.client import PipelineBot
from bot.cogs.alerts import AlertsCog, ChannelRateLimit

pytestmark = pytest.mark.django_db(transaction=True)


def test_five_messages_per_five_seconds_per_channel() -> None:
    limit = ChannelRateLimit(count=5, window=5.0)
    for second in range(5):
        assert limit.wait_for("1", 100.0 + second * 0.1) == 0.0
        limit.record("1", 100.0 + second * 0.1)
    assert limit.wait_for("1", 100.5) == pytest.approx(4.5)
    assert limit.wait_for("2", 100.5) == 0.0, "another channel has its own budget"
    assert limit.wait_for("1", 105.0) == 0.0


@pytest.mark.asyncio
async def test_the_bot_carries_discord_actions_that_name_a_channel() -> None:
    bot = PipelineBot(guild_ids=[])
    await bot.load_extension("bot.cogs.alerts")
    try:
        alert = {
            "rule": "big prints",
            "symbol": "ESZ26",
            "event_time": "2026-12-01T15:00:00Z",
            "input": {"price": 6000},
        }
        action = DiscordAction(kind="discord", channel_id="123456")
        outcome = await asyncio.to_thread(discord_action.discord_send, action=action, alert=alert)
        assert not outcome.ok
        assert outcome.error == "the bot sees no text channel 123456"
        assert outcome.retryable is False
    finally:
        await bot.unload_extension("bot.cogs.alerts")
    outcome = discord_action.discord_send(action=DiscordAction(kind="discord", channel_id="123456"), alert=alert)
    assert outcome.error == "no bot route is running and the action has no webhook_url"


@pytest.mark.asyncio
async def test_alerts_lists_the_rules() -> None:
    cog = AlertsCog(PipelineBot(guild_ids=[]))
    assert await cog.alerts_reply() == "No alert rules."
    await asyncio.to_thread(lambda: AlertRule.objects.create(name="big prints", source="md_trades", enabled=False))
    assert await cog.alerts_reply() == "off **big prints** (md_trades)"
