"""The trading cog driven without a Discord connection: its command and button handlers called
with real discord.py objects, against the fake tastytrade (the services run for real)."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord.ext import commands

from apps.core.process_status import process_status_read
from apps.trading.broker import Broker
from apps.trading.models import TradeAudit
from apps.trading.selectors import Requester
from bot.client import PipelineBot, command_error_reply
from bot.cogs.trading import ConfirmView, TradingCog, order_words
from bot.requesters import requester_of
from tests.apps.trading.conftest import STRANGER, TRADER
from tests.fakes.tastytrade import FakeTastytrade

pytestmark = [pytest.mark.calendar, pytest.mark.django_db(transaction=True)]
ADMIN = Requester(user="111", guild="900", channel="500", is_admin=True)


async def audit_count(**filters: Any) -> int:
    return await asyncio.to_thread(lambda: TradeAudit.objects.filter(**filters).count())


@pytest.fixture
def cog(trading: Broker) -> TradingCog:
    bot = PipelineBot(guild_ids=[])
    return TradingCog(bot, broker=trading)


def test_order_words_take_the_forms_traders_type() -> None:
    assert order_words(("/ES", "1", "@", "6000.25")) == ("/ES", "1", "6000.25")
    assert order_words(("/ES", "1", "@6000.25")) == ("/ES", "1", "6000.25")
    assert order_words(("/ES",)) == ("/ES", "", "")


@pytest.mark.asyncio
async def test_buy_shows_the_dry_run_and_confirm_places_it_once_on_a_plain_tuesday(
    cog: TradingCog, fake: FakeTastytrade
) -> None:
    reply = await cog.order_reply(requester=TRADER, side="buy", words=("/ES", "1", "@", "6000.25"))
    assert reply.embed is not None, reply.content
    assert reply.embed.title == "Buy 1 /ESZ6 @ 6000.25"
    fields = {field.name: field.value for field in reply.embed.fields}
    assert fields["Order type"] == "Limit / Day"
    assert fields["Fees"] in {"1.57", "-1.57"}
    assert fields["Buying power change"] in {"12650.00", "-12650.00"}
    assert isinstance(reply.view, ConfirmView)
    labels = [item.label for item in reply.view.children if isinstance(item, discord.ui.Button)]
    assert labels == ["Confirm", "Cancel"]
    assert fake.placed_orders == []
    placed = await cog.confirm_reply(requester=TRADER, ticket_id=reply.view.ticket_id)
    assert placed.content.startswith("Placed at tastytrade (sandbox): order 1001")
    again = await cog.confirm_reply(requester=TRADER, ticket_id=reply.view.ticket_id)
    assert "duplicate_confirmation" in again.content
    assert len(fake.placed_orders) == 1


@pytest.mark.asyncio
async def test_someone_elses_press_is_refused_privately_and_places_nothing_on_a_plain_tuesday(
    cog: TradingCog, fake: FakeTastytrade
) -> None:
    reply = await cog.order_reply(requester=TRADER, side="sell", words=("/ES", "1", "@", "6000"))
    assert isinstance(reply.view, ConfirmView)
    foreign = await cog.confirm_reply(requester=STRANGER, ticket_id=reply.view.ticket_id)
    assert foreign.ephemeral
    assert "Only the requester may confirm" in foreign.content
    cancelled = await cog.cancel_reply(requester=STRANGER, ticket_id=reply.view.ticket_id)
    assert "foreign_confirmation" in cancelled.content
    assert fake.placed_orders == []
    assert await audit_count(rule="foreign_confirmation") == 2


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (
            ("/ES", "1e9", "@", "6000.25"),
            "Refused (quantity): Quantity must be a whole number of contracts above 0 (got '1e9')",
        ),
        (("/ES", "-1", "@", "6000.25"), "(got '-1')"),
        (("/ES", "1", "@", "6000.10"), "Refused (tick)"),
        (("/XX", "1", "@", "6000.25"), "Refused (symbol): Unknown symbol '/XX'"),
        (("/ES", "1"), "Refused (price)"),
    ],
)
@pytest.mark.asyncio
async def test_bad_input_gets_a_reply_naming_the_problem_and_an_audit_row_on_a_plain_tuesday(
    cog: TradingCog, fake: FakeTastytrade, words: tuple[str, ...], named: str
) -> None:
    reply = await cog.order_reply(requester=TRADER, side="buy", words=words)
    assert named in reply.content
    assert reply.view is None
    assert fake.placed_orders == []
    assert await audit_count(kind=TradeAudit.Kind.REFUSED) == 1


@pytest.mark.asyncio
async def test_killswitch_is_for_administrators_and_stops_orders_on_a_plain_tuesday(
    cog: TradingCog, fake: FakeTastytrade
) -> None:
    refused = await cog.kill_switch_reply(requester=TRADER, state="on")
    assert "Refused (kill_switch_admin)" in refused.content
    on = await cog.kill_switch_reply(requester=ADMIN, state="on")
    assert on.content.startswith("Kill switch ON")
    reply = await cog.order_reply(requester=TRADER, side="buy", words=("/ES", "1", "@", "6000.25"))
    assert "Refused (kill_switch)" in reply.content
    assert fake.dry_runs == 0
    assert "Usage" in (await cog.kill_switch_reply(requester=ADMIN, state="maybe")).content


@pytest.mark.asyncio
async def test_status_changes_are_reported_on_a_plain_tuesday(cog: TradingCog, fake: FakeTastytrade) -> None:
    reply = await cog.order_reply(requester=TRADER, side="buy", words=("/ES", "1", "@", "6000.25"))
    assert isinstance(reply.view, ConfirmView)
    placed = await cog.confirm_reply(requester=TRADER, ticket_id=reply.view.ticket_id)
    assert placed.placed_ticket is not None
    fake.fill(1001)
    assert await cog.status_changes(ticket_id=placed.placed_ticket) == ("Routed", "Filled")


@pytest.mark.asyncio
async def test_the_bot_loads_its_cogs_and_records_its_state(trading: Broker) -> None:
    bot = PipelineBot(guild_ids=[])
    await bot.setup_hook()
    assert {"buy", "sell", "killswitch", "gex", "levels", "status", "streamer", "alerts"} <= {
        command.name for command in bot.commands
    }
    assert {"gex", "levels", "alerts", "alert"} <= {command.name for command in bot.tree.get_commands()}
    assert {"alert mute", "alert unmute"} <= {command.qualified_name for command in bot.walk_commands()}
    assert bot.command_prefix == "!"
    assert process_status_read(name="bot")["state"] == "starting"
    await bot.on_disconnect()
    await bot.on_disconnect()
    status = process_status_read(name="bot")
    assert status["state"] == "disconnected"
    assert status["disconnects"] == "2"
    for extension in list(bot.extensions):  # the alerts cog's Discord route is process-wide
        await bot.unload_extension(extension)


def test_an_unknown_command_is_named_in_the_reply() -> None:
    assert command_error_reply("!bye now", commands.CommandNotFound('Command "bye" is not found')) == (
        "Unknown command '!bye': try !help."
    )


def test_the_requester_is_taken_from_discords_objects() -> None:
    requester = requester_of(user=discord.Object(id=111), guild=discord.Object(id=900), channel=discord.Object(id=500))
    assert requester == Requester(user="111", guild="900", channel="500", source="discord")
