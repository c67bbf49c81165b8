"""The alerts cog without a Discord connection: the bot's route is installed for the alert
engine's Discord action, a channel the bot cannot see is a failed (not retried) delivery, the
per-channel rate limit, `!alerts` and `!alert mute|unmute`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import time_machine

from apps.alerts.action_specs import DiscordAction
from apps.alerts.actions import discord as discord_action
from apps.alerts.models import AlertMute, AlertRule
from apps.trading.selectors import Requester
from bot.client import PipelineBot
from bot.cogs.alerts import AlertsCog, ChannelRateLimit, mute_words

pytestmark = pytest.mark.django_db(transaction=True)
MEMBER = Requester(user="43", guild="900", channel="500")


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


def test_mute_words_take_a_rule_name_of_several_words() -> None:
    assert mute_words(("big", "prints", "30m")) == ("big prints", "30m")
    assert mute_words(("big prints", "30m")) == ("big prints", "30m")
    assert mute_words(("30m",)) == ("30m", "")


@pytest.mark.asyncio
async def test_alert_mute_and_unmute_reply_and_alerts_shows_the_mute() -> None:
    cog = AlertsCog(PipelineBot(guild_ids=[]))
    await asyncio.to_thread(lambda: AlertRule.objects.create(name="big prints", source="md_trades"))
    with time_machine.travel(datetime(2026, 3, 10, 17, 0, tzinfo=UTC), tick=False):
        muted = await cog.mute_reply(requester=MEMBER, rule="big prints", duration="30m")
        assert muted.content == (
            "Muted **big prints** until 2026-03-10 17:30 UTC: its alerts are recorded but not sent."
        )
        assert not muted.ephemeral
        assert (
            await cog.alerts_reply() == "on  **big prints** (md_trades), muted until 2026-03-10 17:30 UTC by discord:43"
        )
        unmuted = await cog.unmute_reply(requester=MEMBER, rule="big prints")
        assert unmuted.content == "Unmuted **big prints**: its alerts are sent again."
        assert await cog.alerts_reply() == "on  **big prints** (md_trades)"


@pytest.mark.parametrize(
    ("rule", "duration", "reply"),
    [
        ("small prints", "30m", "Not muted: there is no alert rule named 'small prints' (!alerts lists them)."),
        ("big prints", "30", "Not muted: '30' is not a duration: use e.g. 30m, 2h, 1h30m, 1d."),
        ("big prints", "", "Usage: !alert mute RULE DURATION (e.g. !alert mute big prints 30m)."),
    ],
)
@pytest.mark.asyncio
async def test_a_bad_mute_names_the_problem(rule: str, duration: str, reply: str) -> None:
    cog = AlertsCog(PipelineBot(guild_ids=[]))
    await asyncio.to_thread(lambda: AlertRule.objects.create(name="big prints", source="md_trades"))
    answer = await cog.mute_reply(requester=MEMBER, rule=rule, duration=duration)
    assert answer.content == reply
    assert answer.ephemeral, "a refusal is shown only to the person who asked (slash command)"
    assert (await cog.unmute_reply(requester=MEMBER, rule="big prints")).content == (
        "Not unmuted: the alert rule 'big prints' is not muted."
    )
    assert not await asyncio.to_thread(AlertMute.objects.exists)
