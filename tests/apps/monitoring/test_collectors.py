"""The hot-store collector against a real Redis: stream length and last-entry age, the flush lag
(the oldest entry the `lake` group has not acknowledged, pending or not yet read), dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from prometheus_client.core import Metric

from apps.core import keys
from apps.core.redis import get_redis
from apps.monitoring.collectors import HotStoreCollector
from tests.factories import SYMBOL, T0, trade, write

pytestmark = pytest.mark.django_db


def _samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    families: list[Metric] = list(HotStoreCollector().collect())
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def _lag(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    labels = (("group", keys.LAKE_GROUP), ("symbol", SYMBOL), ("table", "tick_data"))
    return samples[("pipeline_hot_stream_oldest_unacked_age_seconds", labels)]


def test_flush_lag_follows_the_oldest_unacknowledged_entry_pending_or_unread() -> None:
    """Three blocks at T0, T0+10 s and T0+20 s (their stream ids are their exchange times); the
    clock stands at T0+60 s."""
    write([[trade(0, 6000.0, seq=1)], [trade(10, 6000.25, seq=2)], [trade(20, 6000.5, seq=3)]])
    client = get_redis()
    key = keys.trades(SYMBOL)
    client.xgroup_create(key, keys.LAKE_GROUP, id="0")
    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):
        samples = _samples()
        table = (("symbol", SYMBOL), ("table", "tick_data"))
        assert samples[("pipeline_hot_stream_length", table)] == 3
        assert samples[("pipeline_hot_stream_last_entry_age_seconds", table)] == 40
        assert _lag(samples) == 60  # nothing read yet: the first entry waits

        first = client.xreadgroup(keys.LAKE_GROUP, "flush", {key: ">"}, count=2)[0][1]
        assert _lag(_samples()) == 60  # read but not acknowledged: still pending

        client.xack(key, keys.LAKE_GROUP, first[0][0])
        assert _lag(_samples()) == 50  # the second is pending now

        client.xack(key, keys.LAKE_GROUP, first[1][0])
        assert _lag(_samples()) == 40  # the third was never read

        client.xreadgroup(keys.LAKE_GROUP, "flush", {key: ">"}, count=1)
        client.xack(key, keys.LAKE_GROUP, client.xrange(key)[-1][0])
        assert _lag(_samples()) == 0  # caught up


def test_dead_letters_are_counted_per_source() -> None:
    client = get_redis()
    for index in range(3):
        client.xadd(keys.dead_letter("simulator"), {"reason": "bad frame", "raw": str(index)})
    assert _samples()[("pipeline_dead_letters", (("source", "simulator"),))] == 3
