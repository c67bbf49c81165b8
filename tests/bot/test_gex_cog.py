"""The GEX cog without a Discord connection: the embed of the latest stored snapshot, and a PNG
that is a real image of its profile by strike; `!levels ES` on the futures price."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from PIL import Image

from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from bot.client import PipelineBot
from bot.cogs.gex import GexCog
from bot.gex_chart import profile_bars, profile_png
from tests.apps.trading.conftest import TUESDAY, last_trade_set

pytestmark = [pytest.mark.calendar, pytest.mark.django_db(transaction=True)]
AT_S = int(datetime(2026, 12, 1, 14, 59, 30, tzinfo=UTC).timestamp())


def snapshot(ticker: str = "SPX", *, flip: bool = False) -> GEXSnapshot:
    sign = -1 if flip else 1
    return GEXSnapshot(
        ticker=ticker,
        package="classic",
        category="gex_zero",
        timestamp=AT_S,
        spot=6000.0,
        zero_gamma=5980.0,
        major_pos_vol=6050.0,
        major_neg_vol=5950.0,
        call_wall=6100.0,
        put_wall=5900.0,
        strikes=tuple(StrikeRow(strike=5900.0 + 25 * i, gex_vol=sign * (i - 4) * 10.0, gex_oi=None) for i in range(9)),
        source="local",
    )


@pytest.fixture
def cog() -> Any:
    with time_machine.travel(TUESDAY, tick=True):
        yield GexCog(PipelineBot(guild_ids=[]))


@pytest.mark.asyncio
async def test_gex_spx_is_an_embed_with_the_levels_and_a_png_of_the_profile_on_a_plain_tuesday(cog: GexCog) -> None:
    snapshot_record(snapshot=snapshot())
    reply = await cog.gex_reply(ticker="spx")
    assert reply.embed is not None, reply.content
    fields = {field.name: field.value for field in reply.embed.fields}
    assert fields == {
        "Spot": "6,000.00",
        "Zero gamma": "5,980.00",
        "Call wall": "6,100.00",
        "Put wall": "5,900.00",
        "Major positive (vol)": "6,050.00",
        "Major negative (vol)": "5,950.00",
        "Snapshot": "2026-12-01 14:59:30 UTC",
        "Source": "local (classic)",
    }
    assert reply.embed.image.url == "attachment://gex.png"
    assert reply.png is not None
    image = Image.open(io.BytesIO(reply.png))
    assert image.format == "PNG"
    assert image.size == (900, 450)
    # The bars are green above zero and red below: both colours are in the picture.
    colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1_000_000) or []}
    assert (0x2E, 0x7D, 0x32) in colours
    assert (0xC6, 0x28, 0x28) in colours


def test_the_png_draws_the_snapshots_own_profile() -> None:
    assert profile_bars(snapshot()) == [(5900.0 + 25 * i, (i - 4) * 10.0) for i in range(9)]
    assert profile_png(snapshot()) != profile_png(snapshot(flip=True))


@pytest.mark.asyncio
async def test_bad_tickers_and_missing_snapshots_are_named(cog: GexCog) -> None:
    assert "is not a GEX ticker" in (await cog.gex_reply(ticker="../etc")).content
    assert "Unknown category" in (await cog.gex_reply(ticker="SPX", category="gex_all")).content
    assert (await cog.gex_reply(ticker="NDX")).content == "No gex_zero GEX snapshot for NDX yet."


@pytest.mark.asyncio
async def test_levels_es_maps_the_gex_levels_onto_the_futures_price_on_a_plain_tuesday(cog: GexCog) -> None:
    snapshot_record(snapshot=snapshot("ES_SPX"))
    last_trade_set("ESZ26", 6030.0)
    reply = await cog.levels_reply(root="ES")
    assert reply.embed is not None, reply.content
    fields = {field.name: field.value for field in reply.embed.fields}
    assert fields["Zero gamma"] == "6,010.00"  # 5980 + the basis of +30
    assert fields["Call wall"] == "6,130.00"
    assert "+30.00" in (reply.embed.description or "")
    assert "No GEX levels for 'CL'" in (await cog.levels_reply(root="CL")).content
