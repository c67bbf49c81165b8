"""GEX in Discord: `!gex SPX` / `/gex ticker:SPX` (an embed of the latest snapshot and a PNG of
its profile by strike) and `!levels ES` (the GEX levels mapped onto the futures price).
Reads through the GEX and market-data selectors; the chart renders on a worker thread."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import discord
from discord.ext import commands

from apps.core.clock import utc_now
from apps.gex.selectors import snapshot_latest
from apps.gex.snapshots import GEXSnapshot
from apps.marketdata.selectors import last_values
from apps.marketdata.symbols import SymbolError, lead_contract
from apps.monitoring.metrics import BOT_COMMANDS as COMMANDS
from bot.allowlist import cog_allowed
from bot.gex_chart import profile_png

_TICKER = re.compile(r"^[A-Z][A-Z0-9_]{0,11}$")
CATEGORIES = ("gex_zero", "gex_one", "gex_full")
# The GEX ticker whose levels `!levels ROOT` maps onto the futures price.
LEVEL_TICKERS = {"ES": "ES_SPX", "MES": "ES_SPX", "NQ": "NQ_NDX", "MNQ": "NQ_NDX"}


@dataclass
class GexReply:
    content: str
    embed: discord.Embed | None = None
    png: bytes | None = None


def _level(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def snapshot_embed(snapshot: GEXSnapshot) -> discord.Embed:
    at = datetime.fromtimestamp(snapshot.timestamp, tz=UTC)  # GEX timestamps are in seconds
    embed = discord.Embed(title=f"GEX {snapshot.ticker} ({snapshot.category})", colour=discord.Colour.gold())
    embed.add_field(name="Spot", value=_level(snapshot.spot))
    embed.add_field(name="Zero gamma", value=_level(snapshot.zero_gamma))
    embed.add_field(name="Call wall", value=_level(snapshot.call_wall))
    embed.add_field(name="Put wall", value=_level(snapshot.put_wall))
    embed.add_field(name="Major positive (vol)", value=_level(snapshot.major_pos_vol))
    embed.add_field(name="Major negative (vol)", value=_level(snapshot.major_neg_vol))
    embed.add_field(name="Snapshot", value=at.strftime("%Y-%m-%d %H:%M:%S UTC"), inline=False)
    embed.add_field(name="Source", value=f"{snapshot.source} ({snapshot.package})", inline=False)
    embed.set_image(url="attachment://gex.png")
    return embed


class GexCog(commands.Cog, name="gex"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_check(self, ctx: commands.Context[Any]) -> bool:
        return await cog_allowed(ctx, cog="gex")

    async def gex_reply(self, *, ticker: str, category: str = "gex_zero") -> GexReply:
        ticker = ticker.strip().upper()
        if not _TICKER.match(ticker):
            return GexReply(f"{ticker[:20]!r} is not a GEX ticker (e.g. SPX, ES_SPX, NDX).")
        if category not in CATEGORIES:
            return GexReply(f"Unknown category {category[:20]!r}: one of {', '.join(CATEGORIES)}.")
        snapshot = await asyncio.to_thread(snapshot_latest, ticker=ticker, category=category)
        if snapshot is None:
            return GexReply(f"No {category} GEX snapshot for {ticker} yet.")
        png = await asyncio.to_thread(profile_png, snapshot)
        return GexReply(f"GEX {ticker}", embed=snapshot_embed(snapshot), png=png)

    async def levels_reply(self, *, root: str) -> GexReply:
        root = root.strip().upper().lstrip("/")
        ticker = LEVEL_TICKERS.get(root)
        if ticker is None:
            return GexReply(f"No GEX levels for {root[:10]!r}: one of {', '.join(LEVEL_TICKERS)}.")
        try:
            contract = lead_contract(root, utc_now()).code
        except SymbolError as error:
            return GexReply(str(error))
        snapshot = await asyncio.to_thread(snapshot_latest, ticker=ticker, category="gex_zero")
        last = (await asyncio.to_thread(last_values, symbol=contract)).get("price")
        if snapshot is None or last is None:
            missing = f"a GEX snapshot for {ticker}" if snapshot is None else f"a last trade for {contract}"
            return GexReply(f"No levels for {root}: {missing} is missing.")
        basis = float(last) - snapshot.spot
        embed = discord.Embed(title=f"{root} levels ({contract} {float(last):,.2f})", colour=discord.Colour.gold())
        embed.description = f"{ticker} levels plus the basis {basis:+,.2f} ({contract} minus the GEX spot)"
        for name, value in (
            ("Zero gamma", snapshot.zero_gamma),
            ("Call wall", snapshot.call_wall),
            ("Put wall", snapshot.put_wall),
            ("Major positive (vol)", snapshot.major_pos_vol),
            ("Major negative (vol)", snapshot.major_neg_vol),
        ):
            embed.add_field(name=name, value=_level(None if value is None else value + basis))
        return GexReply(f"{root} levels", embed=embed)

    async def _send(self, ctx: commands.Context[Any], reply: GexReply) -> None:
        COMMANDS.labels("gex", "ok" if reply.embed else "refused").inc()
        if reply.png is not None and reply.embed is not None:
            await ctx.send(
                reply.content, embed=reply.embed, file=discord.File(io.BytesIO(reply.png), filename="gex.png")
            )
        elif reply.embed is not None:
            await ctx.send(reply.content, embed=reply.embed)
        else:
            await ctx.send(reply.content)

    @commands.hybrid_command(name="gex", help="!gex SPX [gex_zero|gex_one|gex_full] - the latest GEX snapshot")  # type: ignore[arg-type]
    async def gex(self, ctx: commands.Context[commands.Bot], ticker: str, category: str = "gex_zero") -> None:
        await self._send(ctx, await self.gex_reply(ticker=ticker, category=category))

    @commands.hybrid_command(name="levels", help="!levels ES - GEX levels on the futures price")  # type: ignore[arg-type]
    async def levels(self, ctx: commands.Context[commands.Bot], root: str) -> None:
        await self._send(ctx, await self.levels_reply(root=root))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(GexCog(bot))
