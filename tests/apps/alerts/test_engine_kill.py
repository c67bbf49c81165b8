"""The engine killed (SIGKILL) between recording a batch's alerts and acknowledging it, and
between sending a delivery and recording it, while option trades keep arriving: after restarts,
every alert that should fire is recorded once and appears once on `alerts:fired` (/ws/alerts).
0 lost, 0 doubled."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from apps.alerts.models import AlertDelivery, AlertEvent
from apps.alerts.services import rule_save
from apps.core import keys
from apps.core.codec import dumps, loads
from apps.core.redis import get_redis
from apps.uw.events import OptionTrade
from apps.uw.parsing import option_trade_parse
from apps.uw.services.hot_store import uw_events_write
from tests.apps.alerts.payloads import OPTION_TRADE
from tests.conftest import ProcessGroup

pytestmark = pytest.mark.django_db(transaction=True)
WAVES, PER_WAVE = 4, 60


def _trade(trade_id: str, premium: str, offset: int = 0) -> OptionTrade:
    payload = {**OPTION_TRADE, "id": trade_id, "premium": premium, "executed_at": 1726670167412 + offset}
    return option_trade_parse(dumps(payload), ts_recv=1726670167412_000_000 + offset)


def _write_wave(wave: int) -> int:
    """PER_WAVE option trades as the UW streamer stores them, every third one over $1M; returns
    how many are."""
    trades = [
        _trade(f"w{wave}-{index}", "2500000.00" if index % 3 == 0 else "1200.00", index) for index in range(PER_WAVE)
    ]
    for start in range(0, PER_WAVE, 10):  # the streamer's batches
        uw_events_write(client=get_redis(), events=trades[start : start + 10])
    return sum(index % 3 == 0 for index in range(PER_WAVE))


def _wait(what: str, done: Callable[[], bool], processes: ProcessGroup, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen:\n{processes.log('engine')}")
        time.sleep(0.1)


def _engine(processes: ProcessGroup, env: dict[str, str], failpoint: str) -> subprocess.Popen[bytes]:
    return processes.start(
        "engine",
        [sys.executable, "manage.py", "run_alerts", "--batch", "25"],
        {**env, "ALERTS_FAILPOINT": failpoint},
    )


def test_sigkill_between_match_and_delivery_loses_and_doubles_nothing(
    processes: ProcessGroup, process_env: dict[str, str]
) -> None:
    rule_save(
        data={
            "name": "SPX-size premium",
            "source": "uw_option_trades",
            "conditions": [{"kind": "premium_at_least", "min": "1000000"}],
            "actions": [{"kind": "websocket"}],
        }
    )
    client = get_redis()
    # The engine's groups start where it first ran: start it once on an empty stream.
    uw_events_write(client=client, events=[_trade("before", "1.00")])
    expected = 0
    kills = 0
    for wave in range(WAVES):
        engine = _engine(processes, process_env, "after_record")
        if wave == 0:
            _wait("the engine's group", lambda: bool(client.exists(keys.ALERTS_ENGINE_SINCE)), processes)
            time.sleep(0.5)
        expected += _write_wave(wave)
        engine.wait(timeout=60)
        assert engine.returncode == -9, processes.log("engine")
        kills += 1
    # Deliveries: killed after sending one and before recording it, twice.
    for _ in range(2):
        engine = _engine(processes, process_env, "after_send")
        engine.wait(timeout=60)
        assert engine.returncode == -9, processes.log("engine")
    engine = _engine(processes, process_env, "")
    _wait(
        "every alert recorded and delivered",
        lambda: (
            AlertEvent.objects.count() == expected
            and not AlertDelivery.objects.exclude(state=AlertDelivery.State.DONE).exists()
            and not client.xpending(keys.UW_OPTION_TRADES, keys.ALERTS_GROUP)["pending"]
        ),
        processes,
    )
    engine.terminate()
    engine.wait(timeout=30)

    recorded = sorted(event.input["id"] for event in AlertEvent.objects.all())
    assert len(recorded) == len(set(recorded)) == expected == WAVES * PER_WAVE // 3
    fired = [loads(fields[b"d"])["input"]["id"] for _, fields in client.xrange(keys.ALERTS_FIRED)]
    assert sorted(fired) == recorded
    assert kills == WAVES
