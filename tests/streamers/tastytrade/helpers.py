"""What the tastytrade streamer tests share: a real runner against the fake tastytrade server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from streamers.config import RunnerConfig
from streamers.runner import StreamerRunner
from streamers.tastytrade.client import TastytradeClient
from streamers.tastytrade.config import TastytradeConfig
from streamers.tastytrade.session import SessionStore
from tests.fakes.tastytrade import FAKE_CLIENT_SECRET, FAKE_REFRESH_TOKEN, FakeTastytrade

ES = "ESZ26"
ES_DX = "/ESZ26:XCME"
NQ = "NQZ26"
NQ_DX = "/NQZ26:XCME"


def venue_config(fake: FakeTastytrade, **overrides: Any) -> TastytradeConfig:
    values: dict[str, Any] = {
        "api_url": fake.base_url,
        "client_secret": FAKE_CLIENT_SECRET,
        "refresh_token": FAKE_REFRESH_TOKEN,
        "handshake_timeout": 5.0,
    }
    values.update(overrides)
    return TastytradeConfig(**values)


def runner_config(**overrides: Any) -> RunnerConfig:
    values: dict[str, Any] = {
        "name": "tastytrade",
        "fixed_symbols": (ES,),
        "status_interval": 0.2,
        "backoff_initial": 0.05,
        "backoff_max": 0.5,
        "symbols_setting": "brokers.tastytrade_symbols",
    }
    values.update(overrides)
    return RunnerConfig(**values)


def make_runner(
    fake: FakeTastytrade, *, store: SessionStore | None = None, config: dict[str, Any] | None = None, **runner: Any
) -> StreamerRunner:
    client = TastytradeClient(venue_config(fake, **(config or {})), store=store)
    return StreamerRunner(client, runner_config(**runner), redis_url=settings.REDIS_URL)


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def run_with(runner: StreamerRunner, body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(runner.run())
    try:
        await body()
    finally:
        runner.stop()
        await asyncio.wait_for(task, timeout=20)


async def publish(fake: FakeTastytrade, event_type: str, rows: list[dict[str, Any]]) -> int:
    return await asyncio.to_thread(fake.publish, event_type, rows)


async def subscribed(fake: FakeTastytrade, *pairs: tuple[str, str]) -> None:
    await until(lambda: all(fake.subscribed(event_type, symbol) for event_type, symbol in pairs))
