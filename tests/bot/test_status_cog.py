"""The status cog without a Discord connection: `!status` shows the streamers, flush lag,
queues, the last beat heartbeat and the circuit breakers; `!streamer stop|start NAME` is for server administrators and goes through the REST
API's audited control service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
import time_machine

from apps.accounts.models import ControlAction
from apps.core import keys
from apps.core.clock import utc_now
from apps.core.heartbeat import beat_heartbeat_record
from apps.core.redis import get_redis
from apps.core.runtime_config import clear_cache, runtime_value
from apps.trading.selectors import Requester
from bot.client import PipelineBot
from bot.cogs.status import BOT_USER, StatusCog

pytestmark = pytest.mark.django_db(transaction=True)
ADMIN = Requester(user="42", guild="900", channel="500", is_admin=True)
MEMBER = Requester(user="43", guild="900", channel="500")


@pytest.fixture
def cog() -> StatusCog:
    return StatusCog(PipelineBot(guild_ids=[]))


def running_simulator() -> None:
    now = utc_now()
    get_redis().hset(
        keys.streamer("simulator"),
        mapping={
            "state": "connected",
            "messages_per_second": "12.5",
            "last_message_ms": str(int(now.timestamp() * 1000) - 3000),
            "updated_at": now.isoformat(),
        },
    )


async def in_thread(function: Any) -> Any:
    return await asyncio.to_thread(function)


@pytest.mark.asyncio
async def test_status_shows_each_streamer_with_state_rate_and_last_message_age(cog: StatusCog) -> None:
    running_simulator()
    reply = await cog.status_reply()
    assert reply.embed is not None
    fields = {field.name: field.value for field in reply.embed.fields}
    assert "**simulator**: connected, 12.5/s, last message 3 s ago" in str(fields["Streamers"])
    assert set(fields) == {"Streamers", "Flush lag", "Queues", "Beat heartbeat", "Breakers"}


@pytest.mark.asyncio
async def test_status_shows_the_last_beat_heartbeat_and_the_breakers(cog: StatusCog) -> None:
    at = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False) as clock:
        first = await cog.status_reply()
        fields = {field.name: field.value for field in first.embed.fields} if first.embed else {}
        assert fields["Beat heartbeat"] == "never recorded: is celery beat running?"
        assert fields["Breakers"] == "gexbot: closed"
        assert first.embed is not None
        assert first.embed.colour == discord.Colour.orange()

        await in_thread(beat_heartbeat_record)
        clock.shift(timedelta(seconds=12))
        healthy = await cog.status_reply()
        assert healthy.embed is not None
        fields = {field.name: field.value for field in healthy.embed.fields}
        assert fields["Beat heartbeat"] == "17:00:00 UTC (12 s ago)"
        assert healthy.embed.colour == discord.Colour.green()

        get_redis().set(f"{keys.gex_breaker('gexbot')}:pybreaker:state", "open")
        clock.shift(timedelta(minutes=5))
        troubled = await cog.status_reply()
        assert troubled.embed is not None
        fields = {field.name: field.value for field in troubled.embed.fields}
        assert fields["Beat heartbeat"] == "17:00:00 UTC (312 s ago), stale"
        assert fields["Breakers"] == "gexbot: open"
        assert troubled.embed.colour == discord.Colour.orange()


@pytest.mark.asyncio
async def test_an_administrator_stops_and_starts_a_streamer_through_the_audited_service(cog: StatusCog) -> None:
    running_simulator()
    stopped = await cog.streamer_reply(requester=ADMIN, action="stop", name="simulator")
    assert stopped.content == "Streamer simulator stopped."

    def disabled() -> list[str]:
        clear_cache()
        return list(runtime_value("marketdata.disabled_streamers"))

    assert await in_thread(disabled) == ["simulator"]
    started = await cog.streamer_reply(requester=ADMIN, action="start", name="simulator")
    assert started.content == "Streamer simulator started."
    assert await in_thread(disabled) == []
    rows = await in_thread(
        lambda: list(ControlAction.objects.order_by("id").values_list("action", "params", "user__username"))
    )
    assert rows == [
        ("streamer.stop", {"name": "simulator", "discord_user": "42", "guild": "900"}, BOT_USER),
        ("streamer.start", {"name": "simulator", "discord_user": "42", "guild": "900"}, BOT_USER),
    ]


@pytest.mark.asyncio
async def test_members_bad_actions_and_unknown_streamers_are_refused_by_name(cog: StatusCog) -> None:
    assert (
        "server administrator" in (await cog.streamer_reply(requester=MEMBER, action="stop", name="simulator")).content
    )
    assert "Usage" in (await cog.streamer_reply(requester=ADMIN, action="pause", name="simulator")).content
    assert "is not a streamer name" in (await cog.streamer_reply(requester=ADMIN, action="stop", name="../x")).content
    unknown = await cog.streamer_reply(requester=ADMIN, action="stop", name="nosuch")
    assert unknown.content == "Refused: unknown streamer 'nosuch'"
    assert await in_thread(lambda: ControlAction.objects.filter(action="streamer.stop", outcome="ok").count()) == 0
