"""tastytrade's Summary and Greeks, which are no market events, end up where a trader can see
them: each symbol's latest day summary and greeks in the hot store, read through
/api/vendor/latest. The real runner and client, the fake tastytrade over real sockets, a real Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts.services import token_create
from apps.marketdata.selectors import dead_letters_list, vendor_greeks_latest, vendor_summary_latest
from tests.fakes.tastytrade import FakeTastytrade, greeks, summary
from tests.streamers.tastytrade.helpers import ES, ES_DX, make_runner, publish, run_with, subscribed, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DAY = 20_790


def _summary(**overrides: float | None) -> dict[str, object]:
    values: dict[str, float | None] = {
        "day_open": 6010.0,
        "day_high": 6020.5,
        "day_low": 5995.25,
        "day_close": None,
        "prev_day_close": 6005.75,
        "prev_day_volume": 1_250_270.0,
        "open_interest": 1_976_987.0,
    }
    values.update(overrides)
    return summary(symbol=ES_DX, day_id=DAY, **values)  # type: ignore[arg-type]


def test_the_latest_summary_and_greeks_of_each_symbol_are_stored_and_served() -> None:
    now = time.time_ns()

    async def scenario(fake: FakeTastytrade) -> None:
        runner = make_runner(fake)

        async def body() -> None:
            await subscribed(fake, ("Summary", ES_DX), ("Greeks", ES_DX))
            await publish(fake, "Summary", [_summary()])
            # A new high later in the day: the same symbol's summary is replaced, not added to.
            await publish(fake, "Summary", [_summary(day_high=6031.0, open_interest=None)])
            await publish(
                fake,
                "Greeks",
                [
                    greeks(
                        symbol=ES_DX,
                        ts_ns=now,
                        price=42.5,
                        volatility=0.1875,
                        delta=0.52,
                        gamma=0.0021,
                        theta=-1.25,
                        rho=0.31,
                        vega=3.4,
                    )
                ],
            )
            await until(
                lambda: (
                    (latest := vendor_summary_latest(feed="tastytrade", symbol=ES)) is not None
                    and latest.day_high == 6031.0
                    and vendor_greeks_latest(feed="tastytrade", symbol=ES) is not None
                )
            )
            # A summary with a wrong type is dead-lettered; the stored one stays as it was.
            bad = _summary(day_high=6040.0)
            bad["dayHighPrice"] = "high"
            await publish(fake, "Summary", [bad])
            await until(lambda: bool(dead_letters_list(source="tastytrade")))

        await run_with(runner, body)

    with FakeTastytrade() as fake:
        asyncio.run(scenario(fake))

    stored = vendor_summary_latest(feed="tastytrade", symbol=ES)
    assert stored is not None
    assert (stored.day_open, stored.day_high, stored.day_low, stored.day_close) == (6010.0, 6031.0, 5995.25, None)
    assert (stored.prev_day_close, stored.prev_day_volume, stored.open_interest) == (6005.75, 1_250_270.0, None)
    assert (stored.day_id, stored.day_close_type, stored.prev_day_close_type) == (DAY, "REGULAR", "FINAL")
    letter = dead_letters_list(source="tastytrade")[0]
    assert "dayHighPrice" in letter["reason"] + letter.get("location", "")

    user = User.objects.create_user(username="trader", password="pw-trader")
    _, secret = token_create(user=user, name="vendor values")
    answer = Client().get("/api/vendor/latest", {"symbol": "ES"}, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["symbol"], body["feed"]) == (ES, "tastytrade")
    assert body["summary"]["day_high"] == 6031.0
    assert body["summary"]["open_interest"] is None
    assert {
        name: body["greeks"][name] for name in ("price", "volatility", "delta", "gamma", "theta", "rho", "vega")
    } == {
        "price": 42.5,
        "volatility": 0.1875,
        "delta": 0.52,
        "gamma": 0.0021,
        "theta": -1.25,
        "rho": 0.31,
        "vega": 3.4,
    }
    assert body["greeks"]["ts_event_ms"] == now // 1_000_000
    missing = Client().get("/api/vendor/latest", {"symbol": "NQZ26"}, headers={"Authorization": f"Bearer {secret}"})
    assert missing.status_code == 404
