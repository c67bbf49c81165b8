"""Issue 13 §1, the isolation test: a replay running beside a live feed leaves every live stream,
bar, hash and lake file exactly as a run without it.

The same live session (Friday 20 November 2026, ESZ26 and NQZ26, written by the real hot-store
writer as the simulator writes it) runs twice; the second time the real replay streamer replays a
recorded stretch of the same day and the same contract beside it, as fast as possible. Then, both
times, the real flush lands the hot streams in a lake and the hot streams are trimmed at a set
instant. Every live key (its type and whole content, the flush's consumer groups and checkpoints
included), every lake file (byte for byte) and the bars are compared; the replay's notifications
go to its own channel. Nothing depends on timing: stream ids are the events' exchange times.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine
from pytest_django import Settings

from apps.core import keys
from apps.core.codec import text
from apps.core.redis import get_async_redis, get_redis
from apps.marketdata.events import Event, Trade
from apps.marketdata.replays import replay_get
from apps.marketdata.selectors import trades_last
from apps.marketdata.services.streams import HotStoreWriter
from apps.marketdata.services.trim import stream_trim
from apps.storage.bars import bars_range
from apps.storage.flush import hot_streams, streams_flush
from tests.replays import DAY, day_events, events_file, replay_runner

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.calendar]

# When the flush and the trim run: the evening of Friday 20 November 2026.
FLUSH_AT = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)


def live_batches() -> list[list[Event]]:
    """The live session: the same day, the same contract as the replay (and NQ), other prices."""
    events = [
        *day_events(900, base=DAY - timedelta(minutes=5), symbol="ESZ26"),
        *day_events(300, base=DAY + timedelta(minutes=2), symbol="NQZ26"),
    ]
    events.sort(key=lambda event: event.ts_event)
    return [events[index : index + 97] for index in range(0, len(events), 97)]


def key_content(client: redis.Redis, key: str) -> Any:
    kind = text(client.type(key))
    if kind == "stream":
        groups = [
            {name: group[name] for name in ("name", "consumers", "pending", "last-delivered-id")}
            for group in client.xinfo_groups(key)
        ]
        return kind, client.xrange(key), groups
    if kind == "hash":
        return kind, client.hgetall(key)
    if kind == "string":
        return kind, client.get(key)
    if kind == "zset":
        return kind, client.zrange(key, 0, -1, withscores=True)
    if kind == "set":
        return kind, sorted(client.smembers(key))
    if kind == "list":
        return kind, client.lrange(key, 0, -1)
    raise AssertionError(f"{key}: a {kind} the snapshot does not know")


def live_snapshot(client: redis.Redis) -> dict[str, Any]:
    """Every key outside the replay sandboxes, with its type and whole content."""
    return {
        text(key): key_content(client, text(key))
        for key in sorted(client.keys("*"))
        if not text(key).startswith(keys.REPLAY_PREFIX)
    }


def lake_snapshot(lake: Path) -> dict[str, str]:
    return {
        str(path.relative_to(lake)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(lake.rglob("*"))
        if path.is_file()
    }


def session(settings: Settings, *, lake: Path, replay: Path | None) -> dict[str, Any]:
    """The live session (with the replay beside it when given), then the flush and the trim."""
    settings.LAKE_DIR = lake
    client = get_redis()
    client.flushdb()
    # Pub/sub is server-wide, not per database: other processes on this Redis publish on the live
    # channels too, so only the replay's own channel is watched (the writer names its channel
    # from the keyspace, as tests/apps/core/test_keys.py pins).
    channels = client.pubsub()
    channels.psubscribe(f"{keys.REPLAY_PREFIX}*")
    channels.get_message(timeout=5)  # the psubscribe confirmation

    async def feed() -> None:
        writer_client = get_async_redis()
        writer = HotStoreWriter(writer_client, feed="simulator")
        runner = replay_runner(replay, replay_id="beside") if replay is not None else None
        task = asyncio.create_task(runner.run()) if runner is not None else None
        try:
            for batch in live_batches():
                result = await writer.write(batch)
                assert not result.rejected
                await asyncio.sleep(0)  # the replay's writes land in between
        finally:
            await writer_client.aclose()
            if task is not None:
                await asyncio.wait_for(task, timeout=60)

    asyncio.run(feed())
    if replay is not None:
        state = replay_get(replay_id="beside")
        assert state is not None
        assert state.state == "finished"
        assert trades_last(symbol="ESZ26", count=5, keyspace=keys.KeySpace.replay("beside")), "the replay ran"

    with time_machine.travel(FLUSH_AT, tick=False):
        streams = hot_streams(client)
        assert all(not key.startswith(keys.REPLAY_PREFIX) for key in streams), streams
        results = streams_flush(client=client, lake=lake)
        assert not [result.error for result in results if result.error]
        for key in streams:
            stream_trim(client=client, key=key, window_minutes=60, exact=True)

    published = set()
    while (message := channels.get_message(timeout=0.5)) is not None:
        if message["type"] == "pmessage":
            published.add(text(message["channel"]))
    channels.close()
    bars = {
        symbol: bars_range(symbol=symbol, interval="1m", start=DAY - timedelta(hours=1), end=DAY + timedelta(hours=1))
        for symbol in ("ESZ26", "NQZ26")
    }
    return {
        "keys": live_snapshot(client),
        "lake": lake_snapshot(lake),
        "bars": bars,
        "replay_channels": sorted(published),
    }


def test_a_replay_beside_the_live_feed_leaves_every_live_key_bar_and_lake_file_as_without_it(
    tmp_path: Path, settings: Settings
) -> None:
    """Friday 20 November 2026: the live session alone, then the same session with a replay of
    the same day and contract beside it. Every live key, bar, channel and lake file is the same."""
    recorded = day_events(1500, base=DAY)
    replay = events_file(tmp_path / "recorded.jsonl", recorded)

    alone = session(settings, lake=tmp_path / "lake-alone", replay=None)
    beside = session(settings, lake=tmp_path / "lake-beside", replay=replay)

    # The comparison means something: there is live data, in the lake and in the hot store, and
    # the replay wrote to its own channel.
    assert any(key.startswith("md:trades:") for key in alone["keys"])
    assert any(path.startswith("tick_data/date=2026-11-20/symbol=ESZ26/") for path in alone["lake"])
    assert alone["bars"]["ESZ26"], "live bars"
    assert alone["replay_channels"] == []
    assert beside["replay_channels"] == ["replay:{beside}:market_data:replay:trades"], "its notifications"

    assert beside["keys"].keys() == alone["keys"].keys(), "no live key more, none fewer"
    for key, content in alone["keys"].items():
        assert beside["keys"][key] == content, f"{key} differs"
    assert beside["lake"] == alone["lake"], "the lake files are the same, byte for byte"
    assert beside["bars"] == alone["bars"]
    # And the live trades are the live session's, not one replayed trade among them.
    live = [item.trade for item in trades_last(symbol="ESZ26", count=10_000)]
    assert all(isinstance(trade, Trade) and trade.price >= 5990.0 for trade in live)
