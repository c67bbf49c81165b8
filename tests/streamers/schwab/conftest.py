from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from pydantic import SecretStr

from apps.brokers.services import token_save
from apps.core.clock import utc_now
from streamers.config import RunnerConfig
from streamers.runner import StreamerRunner
from streamers.schwab.client import SchwabClient
from streamers.schwab.config import SchwabConfig
from tests.fakes.schwab import APP_KEY, APP_SECRET, FakeSchwab

SYMBOLS = ("ESZ26", "NQZ26")


@pytest.fixture(autouse=True)
def token_key(settings: Any) -> str:
    key = Fernet.generate_key().decode()
    settings.ENV = settings.ENV.model_copy(update={"BROKER_TOKEN_KEY": SecretStr(key)})
    return key


def login(fake: FakeSchwab, *, refresh_days: float = 7, access_seconds: float = 1800) -> dict[str, Any]:
    """What `schwab_login` stores, with tokens the fake issued."""
    tokens = fake.issue_tokens(refresh_seconds=refresh_days * 86400)
    now = utc_now()
    token_save(
        provider="schwab",
        access_token=tokens["access_token"],
        access_expires_at=now + timedelta(seconds=access_seconds),
        refresh_token=tokens["refresh_token"],
        refresh_expires_at=now + timedelta(days=refresh_days),
        refresh_issued_at=now,
    )
    return tokens


def schwab_client(fake: FakeSchwab, **overrides: Any) -> SchwabClient:
    config = SchwabConfig(api_url=fake.api_url, app_key=APP_KEY, app_secret=APP_SECRET, **overrides)
    return SchwabClient(config=config, redis_url=django_settings.REDIS_URL)


def runner_config(**overrides: Any) -> RunnerConfig:
    values: dict[str, Any] = {
        "name": "schwab",
        "fixed_symbols": SYMBOLS,
        "status_interval": 0.2,
        "backoff_initial": 0.02,
        "backoff_max": 0.1,
    }
    values.update(overrides)
    return RunnerConfig(**values)


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
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
        await asyncio.wait_for(task, timeout=30)
