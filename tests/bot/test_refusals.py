"""Refusals at the bot's doors, driven through discord.py itself against the fake Discord REST API
(tests/fakes/discord.py): a slash command from where the admin's allowlist does not reach is
answered ephemerally (only the person who asked sees it) and runs nothing; the same `!` command is
answered in the channel. A slash command the service refuses (a bad duration) is ephemeral too;
one that succeeds is not."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import pytest_asyncio

from apps.alerts.models import AlertMute, AlertRule
from apps.trading.models import BotAllowlistEntry, TradeAudit
from bot.client import PipelineBot
from tests.fakes.discord import FAKE_BOT_TOKEN, FakeDiscord

pytestmark = pytest.mark.django_db(transaction=True)
GUILD, CHANNEL, MEMBER = "900", "500", "43"
REFUSAL = (
    "Sorry, the alerts commands are not enabled for this server. "
    "A server administrator can allow them (bot allowlist in the admin)."
)
_ids = itertools.count(1_300_000_000_000_000_000)


def user_payload(user_id: str = MEMBER) -> dict[str, Any]:
    return {"id": user_id, "username": f"user{user_id}", "discriminator": "0", "global_name": None, "avatar": None}


def slash(name: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    """An APPLICATION_COMMAND interaction as Discord's gateway delivers it, from a guild member."""
    return {
        "id": str(next(_ids)),
        "application_id": "1000",
        "type": 2,
        "token": f"interaction-token-{next(_ids)}",
        "version": 1,
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "channel": {"id": CHANNEL, "type": 0, "guild_id": GUILD, "name": "desk", "position": 0, "nsfw": False},
        "member": {
            "user": user_payload(),
            "roles": [],
            "joined_at": "2026-01-05T10:00:00.000000+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "0",
        },
        "app_permissions": "0",
        "attachment_size_limit": 10_485_760,
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD},
        "context": 0,
        "data": {"id": str(next(_ids)), "name": name, "type": 1, "options": options},
    }


def mute_options(rule: str, duration: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "mute",
            "type": 1,
            "options": [{"name": "rule", "type": 3, "value": rule}, {"name": "duration", "type": 3, "value": duration}],
        }
    ]


@pytest_asyncio.fixture
async def wired(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[PipelineBot, FakeDiscord]]:
    """The bot with its cogs, logged in to the fake Discord (its REST API only: no gateway)."""
    async with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api)
        bot = PipelineBot(guild_ids=[])
        await bot.login(FAKE_BOT_TOKEN)  # its REST half: the cogs load in setup_hook; no gateway
        try:
            yield bot, fake
        finally:
            for extension in list(bot.extensions):
                await bot.unload_extension(extension)
            await bot.http.close()


async def run_slash(bot: PipelineBot, payload: dict[str, Any]) -> None:
    interaction: discord.Interaction[Any] = discord.Interaction(data=payload, state=bot._connection)  # type: ignore[arg-type]
    await bot.tree._call(interaction)


def allow_guild(cog: str) -> None:
    BotAllowlistEntry.objects.create(cog=cog, kind="guild", discord_id=GUILD)


async def rule_exists() -> None:
    await asyncio.to_thread(lambda: AlertRule.objects.create(name="big prints", source="md_trades"))


@pytest.mark.asyncio
async def test_a_slash_command_from_a_guild_not_on_the_allowlist_is_refused_ephemerally(
    wired: tuple[PipelineBot, FakeDiscord],
) -> None:
    bot, fake = wired
    await rule_exists()
    await run_slash(bot, slash("alert", mute_options("big prints", "30m")))
    [reply] = fake.interaction_replies
    assert reply.kind == 4  # CHANNEL_MESSAGE_WITH_SOURCE
    assert reply.content == REFUSAL
    assert reply.ephemeral
    assert fake.channel_messages == []
    assert not await asyncio.to_thread(AlertMute.objects.exists), "nothing ran"


@pytest.mark.asyncio
async def test_a_hybrid_slash_command_is_refused_ephemerally_too(wired: tuple[PipelineBot, FakeDiscord]) -> None:
    bot, fake = wired
    await run_slash(bot, slash("gex", [{"name": "ticker", "type": 3, "value": "SPX"}]))
    [reply] = fake.interaction_replies
    assert reply.content == REFUSAL.replace("alerts", "gex")
    assert reply.ephemeral


@pytest.mark.asyncio
async def test_a_service_refusal_is_ephemeral_and_a_success_is_not(wired: tuple[PipelineBot, FakeDiscord]) -> None:
    bot, fake = wired
    await rule_exists()
    await asyncio.to_thread(allow_guild, "alerts")
    await run_slash(bot, slash("alert", mute_options("big prints", "soon")))
    await run_slash(bot, slash("alert", mute_options("big prints", "30m")))
    refused, muted = fake.interaction_replies
    assert refused.content == "Not muted: 'soon' is not a duration: use e.g. 30m, 2h, 1h30m, 1d."
    assert refused.ephemeral
    assert muted.content.startswith("Muted **big prints** until ")
    assert not muted.ephemeral
    assert await asyncio.to_thread(lambda: AlertMute.objects.get().muted_by) == f"discord:{MEMBER}"


@pytest.mark.asyncio
async def test_the_same_prefix_command_is_refused_in_the_channel(wired: tuple[PipelineBot, FakeDiscord]) -> None:
    bot, fake = wired
    await rule_exists()
    channel = bot.get_partial_messageable(int(CHANNEL), guild_id=int(GUILD))
    data = {
        "id": str(next(_ids)),
        "channel_id": CHANNEL,
        "guild_id": GUILD,
        "author": user_payload(),
        "content": "!alert mute big prints 30m",
        "timestamp": "2026-03-10T17:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }
    message = discord.Message(state=bot._connection, channel=channel, data=data)  # type: ignore[arg-type]
    await bot.process_commands(message)
    # discord.py runs `on_command_error` as a task of its own: let it finish.
    await asyncio.gather(*(task for task in asyncio.all_tasks() if task.get_name() == "discord.py: on_command_error"))
    [reply] = fake.channel_messages
    assert reply.where == CHANNEL
    assert reply.content == REFUSAL
    assert not reply.ephemeral
    assert fake.interaction_replies == []
    assert not await asyncio.to_thread(AlertMute.objects.exists)
    rules = await asyncio.to_thread(lambda: list(TradeAudit.objects.values_list("rule", flat=True)))
    assert rules == ["not_allowlisted"]
