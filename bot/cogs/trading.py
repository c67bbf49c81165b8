"""Trading from Discord: `!buy /ES 1 @ 6000.25`, `!sell ...`, Confirm / Cancel buttons, the
order's status changes posted as they come, `!killswitch on|off` (server administrators).

Every rule lives in apps/trading's services; this cog parses nothing beyond splitting the words
and turns the services' answers and refusals into replies. Service calls run on worker threads
(they use the database and the broker's HTTP API), never on the event loop."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import discord
import structlog
from discord.ext import commands

from apps.monitoring.metrics import BOT_COMMANDS as COMMANDS
from apps.trading.broker import Broker
from apps.trading.errors import TradeRefusedError
from apps.trading.selectors import Requester
from apps.trading.services.kill_switch import kill_switch_set
from apps.trading.services.orders import (
    CONFIRM_SECONDS,
    TicketView,
    order_confirm,
    order_request,
    order_status_follow,
    ticket_cancel,
)
from bot.requesters import requester_of

log = structlog.get_logger(__name__)
TERMINAL = {"Filled", "Cancelled", "Rejected", "Expired", "Removed"}
FOLLOW_EVERY_SECONDS = 2.0
FOLLOW_FOR_SECONDS = 600.0


@dataclass
class Reply:
    content: str
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    ephemeral: bool = False
    placed_ticket: uuid.UUID | None = None


def order_words(words: tuple[str, ...]) -> tuple[str, str, str]:
    """`/ES 1 @ 6000.25` (or `/ES 1 6000.25`, `/ES 1 @6000.25`) -> symbol, quantity, price;
    a missing word is empty, for the service to refuse naming it."""
    parts = [word.removeprefix("@") for word in words if word != "@"]
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def ticket_embed(view: TicketView) -> discord.Embed:
    ticket, dry = view.ticket, view.dry_run
    price = view.order.get("price", "")
    embed = discord.Embed(
        title=f"{ticket.side} {ticket.quantity} {ticket.order_symbol} @ {price}",
        description=f"Dry run at tastytrade ({ticket.environment}). Confirm within {CONFIRM_SECONDS} s.",
        colour=discord.Colour.blue() if ticket.side == "Buy" else discord.Colour.red(),
    )
    embed.add_field(name="Order type", value=f"{ticket.order_type} / {ticket.time_in_force}")
    embed.add_field(name="Buying power change", value=str(dry.get("buying_power_change")))
    embed.add_field(name="Fees", value=str(dry.get("fees")))
    embed.add_field(name="Warnings", value="; ".join(dry.get("warnings") or []) or "none", inline=False)
    embed.set_footer(text=f"ticket {ticket.id} · account {ticket.account}")
    return embed


class ConfirmView(discord.ui.View):
    """Confirm / Cancel for one ticket. Anyone may press; the service refuses all but the
    requester (and audits the attempt). After the window the buttons are disabled."""

    def __init__(self, cog: TradingCog, ticket_id: uuid.UUID) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.cog = cog
        self.ticket_id = ticket_id

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        requester = requester_of(user=interaction.user, guild=interaction.guild, channel=interaction.channel)
        reply = await self.cog.confirm_reply(requester=requester, ticket_id=self.ticket_id)
        await interaction.response.send_message(reply.content, ephemeral=reply.ephemeral)
        if reply.placed_ticket is not None and interaction.channel is not None:
            self.cog.follow_start(ticket_id=reply.placed_ticket, channel=interaction.channel)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        requester = requester_of(user=interaction.user, guild=interaction.guild, channel=interaction.channel)
        reply = await self.cog.cancel_reply(requester=requester, ticket_id=self.ticket_id)
        await interaction.response.send_message(reply.content, ephemeral=reply.ephemeral)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True


class TradingCog(commands.Cog, name="trading"):
    def __init__(self, bot: commands.Bot, *, broker: Broker | None = None) -> None:
        self.bot = bot
        self.broker = broker  # None: the services choose sandbox or live from the settings
        self.followers: set[asyncio.Task[None]] = set()

    # -- what the commands and buttons answer (tested without a Discord connection) ---------

    async def order_reply(self, *, requester: Requester, side: str, words: tuple[str, ...]) -> Reply:
        symbol, quantity, price = order_words(words)
        try:
            view = await asyncio.to_thread(
                order_request,
                requester=requester,
                side=side,
                symbol=symbol,
                quantity=quantity,
                price=price,
                broker=self.broker,
            )
        except TradeRefusedError as error:
            COMMANDS.labels("trading", "refused").inc()
            return Reply(f"Refused ({error.rule}): {error.message}")
        COMMANDS.labels("trading", "dry_run").inc()
        return Reply(
            f"<@{requester.user}> dry run done; press Confirm to place it.",
            embed=ticket_embed(view),
            view=ConfirmView(self, view.ticket.id),
        )

    async def confirm_reply(self, *, requester: Requester, ticket_id: uuid.UUID) -> Reply:
        try:
            ticket = await asyncio.to_thread(
                order_confirm, ticket_id=ticket_id, requester=requester, broker=self.broker
            )
        except TradeRefusedError as error:
            COMMANDS.labels("trading", "refused").inc()
            foreign = error.rule == "foreign_confirmation"
            return Reply(f"Refused ({error.rule}): {error.message}", ephemeral=foreign)
        COMMANDS.labels("trading", "placed").inc()
        return Reply(
            f"Placed at tastytrade ({ticket.environment}): order {ticket.order_id}, {ticket.last_status}.",
            placed_ticket=ticket.id,
        )

    async def cancel_reply(self, *, requester: Requester, ticket_id: uuid.UUID) -> Reply:
        try:
            await asyncio.to_thread(ticket_cancel, ticket_id=ticket_id, requester=requester)
        except TradeRefusedError as error:
            return Reply(f"Refused ({error.rule}): {error.message}", ephemeral=error.rule == "foreign_confirmation")
        return Reply("Cancelled: nothing was placed.")

    async def kill_switch_reply(self, *, requester: Requester, state: str) -> Reply:
        if state.lower() not in ("on", "off"):
            return Reply(f"Usage: !killswitch on|off (got {state!r}).")
        try:
            switch = await asyncio.to_thread(kill_switch_set, on=state.lower() == "on", requester=requester)
        except TradeRefusedError as error:
            return Reply(f"Refused ({error.rule}): {error.message}")
        return Reply(
            "Kill switch ON: no order will be placed; cancels still go through." if switch.on else "Kill switch off."
        )

    async def status_changes(self, *, ticket_id: uuid.UUID) -> tuple[str, str] | None:
        return await asyncio.to_thread(order_status_follow, ticket_id=ticket_id, broker=self.broker)

    # -- following a placed order ---------------------------------------------------------

    def follow_start(self, *, ticket_id: uuid.UUID, channel: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._follow(ticket_id, channel))
        self.followers.add(task)
        task.add_done_callback(self.followers.discard)

    async def _follow(self, ticket_id: uuid.UUID, channel: Any) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + FOLLOW_FOR_SECONDS
        while loop.time() < until:
            await asyncio.sleep(FOLLOW_EVERY_SECONDS)
            try:
                change = await self.status_changes(ticket_id=ticket_id)
            except Exception as error:  # noqa: BLE001 - a failed poll is retried; the order stands
                log.warning("bot.order_follow_failed", ticket=str(ticket_id), error=type(error).__name__)
                continue
            if change is not None:
                await channel.send(f"Order status: {change[0] or 'new'} → {change[1]}")
                if change[1] in TERMINAL:
                    return

    async def cog_unload(self) -> None:
        for task in self.followers:
            task.cancel()

    # -- the commands -----------------------------------------------------------------------

    async def _order(self, ctx: commands.Context[Any], side: str, words: tuple[str, ...]) -> None:
        requester = requester_of(user=ctx.author, guild=ctx.guild, channel=ctx.channel)
        reply = await self.order_reply(requester=requester, side=side, words=words)
        await ctx.send(reply.content, embed=reply.embed, view=reply.view)  # type: ignore[arg-type]

    @commands.command(name="buy", help="!buy /ES 1 @ 6000.25 - a limit order, after a dry run and your Confirm")
    async def buy(self, ctx: commands.Context[Any], *words: str) -> None:
        await self._order(ctx, "buy", words)

    @commands.command(name="sell", help="!sell /ES 1 @ 6000.25 - a limit order, after a dry run and your Confirm")
    async def sell(self, ctx: commands.Context[Any], *words: str) -> None:
        await self._order(ctx, "sell", words)

    @commands.command(name="killswitch", help="!killswitch on|off - stop or allow every new order (administrators)")
    async def killswitch(self, ctx: commands.Context[Any], state: str = "") -> None:
        requester = requester_of(user=ctx.author, guild=ctx.guild, channel=ctx.channel)
        reply = await self.kill_switch_reply(requester=requester, state=state)
        await ctx.send(reply.content)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(TradingCog(bot))
