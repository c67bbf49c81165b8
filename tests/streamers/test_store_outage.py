"""A Redis outage seen by a streamer (issue 12, §5): a real runner fed by the simulator server
writes to a redis-server of its own, which the test stops and starts again. The streamer
buffers and loses nothing, and the outage is visible: the status hash says `store_down` while it
lasts, the Prometheus gauge drops to 0, and once the store is back the outage is recorded (start,
end, events held) and counted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from prometheus_client import REGISTRY

from apps.core.embedded_redis import EmbeddedRedis, free_port
from apps.marketdata.selectors import gaps_list, store_outages_list, streamer_status, trades_last
from streamers.runner import StreamerRunner
from streamers.simulator.client import SimulatorClient
from streamers.simulator.server import SimulatorServer
from streamers.sinks import HotStoreSink
from tests.streamers.test_runner import SYMBOLS, config, run_with, trades_in, until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FEED = "simulator"
OUTAGE_SECONDS = 1.5


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"feed": FEED}) or 0.0


def _stored(url: str) -> set[tuple[str, int, int]]:
    client = redis.Redis.from_url(url)
    try:
        return {
            (symbol, item.trade.ts_event // 1_000_000, item.trade.seq)
            for symbol in SYMBOLS
            for item in trades_last(symbol=symbol, count=10_000, client=client)
        }
    finally:
        client.close()


def test_a_redis_outage_is_buffered_through_recorded_counted_and_shown_in_the_status(tmp_path: Path) -> None:
    store = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "store").start()
    server = SimulatorServer(rate=100)
    outages_before = _sample("pipeline_streamer_store_outages_total")
    marks: dict[str, float] = {}

    async def scenario() -> None:
        url = await server.start()
        # The hot store is the Redis the test stops; status and outage records go to the test's Redis.
        runner = StreamerRunner(
            SimulatorClient(url=url),
            config(),
            redis_url=settings.REDIS_URL,
            sink=HotStoreSink(redis_url=store.url, feed=FEED),
        )

        async def body() -> None:
            nonlocal store
            await until(lambda: runner.events_written > 20)
            marks["sent_before"] = len(server.sent_frames)
            # Wall-clock marks on purpose: the streamer stamps the outage it records with the wall
            # clock, and only the order of these instants is compared (no date or time of day matters).
            marks["down"] = time.time()
            await asyncio.to_thread(store.stop)
            await until(lambda: streamer_status(name=FEED).get("state") == "store_down")
            assert _sample("pipeline_streamer_store_up") == 0
            await asyncio.sleep(OUTAGE_SECONDS)
            marks["sent_during"] = len(server.sent_frames)
            marks["up"] = time.time()
            store = await asyncio.to_thread(EmbeddedRedis(port=store.port, data_dir=store.data_dir).start)
            await until(lambda: bool(store_outages_list(feed=FEED)))
            await until(lambda: streamer_status(name=FEED).get("state") == "connected")
            assert _sample("pipeline_streamer_store_up") == 1
            sent = len(server.sent_frames)
            await until(lambda: len(server.sent_frames) > sent + 20)

        try:
            await run_with(runner, body)
        finally:
            await server.stop()

    try:
        asyncio.run(scenario())
        stored = _stored(store.url)
    finally:
        store.stop()

    during = trades_in(server.sent_frames[int(marks["sent_before"]) : int(marks["sent_during"])])
    assert during, "the feed sent trades while the store was down"
    assert trades_in(server.sent_frames[: int(marks["sent_during"])]) <= stored, "a buffered trade was lost"

    (outage,) = store_outages_list(feed=FEED)
    # It begins at the first write that failed (a batch interval after the stop at most, plus
    # the time the server takes to stop) and ends at the first write after the restart.
    assert marks["down"] * 1000 - 100 <= outage.start_ms <= marks["up"] * 1000
    assert outage.end_ms >= marks["up"] * 1000
    assert outage.end_ms - outage.start_ms >= OUTAGE_SECONDS * 1000
    assert outage.buffered > 0
    assert "Connection" in outage.reason
    assert _sample("pipeline_streamer_store_outages_total") - outages_before == 1
    assert not gaps_list(feed=FEED), "the feed itself never dropped"
    status = streamer_status(name=FEED)
    assert (status["state"], status["store_outages"]) == ("stopped", "1")
