"""The trading tests' world: the fake tastytrade over real HTTP, the sandbox pointed at it, a
trading allowlist with one trader, a last trade in the hot store, and the clock on a plain
Tuesday (2026-12-01: ESZ26 is the lead ES contract, tastytrade's /ESZ6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from pydantic import SecretStr

from apps.core import keys
from apps.core.redis import get_redis
from apps.core.runtime_config import clear_cache
from apps.core.services import runtime_setting_update
from apps.marketdata.events import PRICE_SCALE
from apps.trading.broker import Broker, broker_target
from apps.trading.models import BotAllowlistEntry
from apps.trading.selectors import Requester
from tests.fakes.tastytrade import FAKE_ACCOUNT, FAKE_CLIENT_SECRET, FAKE_REFRESH_TOKEN, FakeTastytrade

TUESDAY = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
TRADER = Requester(user="111", guild="900", channel="500", roles=("77",))
STRANGER = Requester(user="222", guild="900", channel="500", roles=("77",))
CONTRACT = "ESZ26"
ORDER_SYMBOL = "/ESZ6"


def last_trade_set(symbol: str, price: float) -> None:
    get_redis().hset(
        keys.LIVE.last(symbol), mapping={"price": round(price * PRICE_SCALE), "size": 1, "ts": 1764601200000}
    )


def setting(key: str, value: Any) -> None:
    runtime_setting_update(key=key, value=value)
    clear_cache()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(TUESDAY, tick=True) as traveller:
        yield traveller


@pytest.fixture
def fake() -> Iterator[FakeTastytrade]:
    with FakeTastytrade() as server:
        yield server


@pytest.fixture
def trading(fake: FakeTastytrade, settings: Any, clock: time_machine.Coordinates, db: None) -> Broker:
    """Sandbox at the fake, placement allowed (dry_run_only off), one trader allowlisted."""
    settings.ENV = settings.ENV.model_copy(
        update={
            "TASTYTRADE_CLIENT_SECRET": SecretStr(FAKE_CLIENT_SECRET),
            "TASTYTRADE_REFRESH_TOKEN": SecretStr(FAKE_REFRESH_TOKEN),
            "TRADING_ACCOUNT": FAKE_ACCOUNT,
            "TRADING_SANDBOX_API_URL": fake.base_url,
        }
    )
    for kind, value in (("guild", "900"), ("channel", "500"), ("user", "111"), ("user", "222")):
        BotAllowlistEntry.objects.create(cog="trading", kind=kind, discord_id=value)
    setting("trading.dry_run_only", False)
    setting("trading.max_qty_per_order", 2)
    last_trade_set(CONTRACT, 6000.00)
    return Broker(broker_target(live_setting=False, live_accounts=[]), timeout=3.0)
