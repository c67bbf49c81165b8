"""The streamer framework end to end: a real runner, a real WebSocket server on 127.0.0.1, a real
Redis. The server drops the connection; malformed frames arrive; the runtime configuration
changes while it runs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from django.conf import settings
from websockets.asyncio.server import ServerConnection, serve

from apps.core.redis import get_redis
from apps.core.services import runtime_setting_update
from apps.marketdata.events import Trade, decode_json
from apps.marketdata.selectors import dead_letters_list, gaps_list, quote_latest, streamer_status, trades_last
from streamers.config import RunnerConfig
from streamers.runner import StreamerRunner
from streamers.simulator.client import SimulatorClient
from streamers.simulator.server import SimulatorServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SYMBOLS = ("ESZ26", "NQZ26")


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def run_with(runner: StreamerRunner, body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(runner.run())
    try:
        await body()
    finally:
        runner.stop()
        await asyncio.wait_for(task, timeout=20)


def config(**overrides: Any) -> RunnerConfig:
    values: dict[str, Any] = {
        "name": "simulator",
        "fixed_symbols": SYMBOLS,
        "status_interval": 0.2,
        "backoff_initial": 0.05,
    }
    values.update(overrides)
    return RunnerConfig(**values)


def trades_in(frames: list[bytes]) -> set[tuple[str, int, int]]:
    found = set()
    for frame in frames:
        for message in msgspec.json.decode(frame):
            if message.get("type") == "trade":
                found.add((message["sym"], message["t"] // 1_000_000, message["seq"]))
    return found


def stored_trades() -> set[tuple[str, int, int]]:
    found = set()
    for symbol in SYMBOLS:
        for item in trades_last(symbol=symbol, count=10_000):
            found.add((symbol, item.trade.ts_event // 1_000_000, item.trade.seq))
    return found


def test_a_dropped_connection_reconnects_resubscribes_records_the_gap_and_loses_nothing() -> None:
    server = SimulatorServer(rate=200, drop_after_frames=30)

    async def scenario() -> None:
        url = await server.start()
        runner = StreamerRunner(SimulatorClient(url=url), config(), redis_url=settings.REDIS_URL)

        async def body() -> None:
            await until(lambda: runner.reconnects >= 1 and runner.gaps >= 1)
            await until(lambda: len(server.sent_frames) > (server.dropped_after or 0) + 20)

        await run_with(runner, body)
        await server.stop()

    asyncio.run(scenario())

    assert server.connections == 2
    assert server.subscriptions == [list(SYMBOLS), list(SYMBOLS)]
    before_drop = trades_in(server.sent_frames[: server.dropped_after])
    assert before_drop, "the server sent trades before the drop"
    assert before_drop <= stored_trades(), "a trade received before the drop is missing from Redis"

    gaps = gaps_list(feed="simulator")
    assert len(gaps) == 1
    assert gaps[0].symbols == list(SYMBOLS)
    assert gaps[0].start_ms <= gaps[0].end_ms
    status = streamer_status(name="simulator")
    assert status["state"] == "stopped"
    assert status["reconnects"] == "1"
    assert status["gaps"] == "1"


def test_malformed_and_unknown_messages_are_parked_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    good = msgspec.json.encode(
        [{"type": "trade", "sym": "ESZ26", "t": time.time_ns(), "px": 6000.25, "sz": 2, "side": "B", "seq": 1}]
    )
    frames = [
        good,
        b"{not json",
        b"{also not json",
        b'[{"type": "teleport", "sym": "ESZ26", "t": 1}]',
        b'[{"type": "trade", "sym": "ESZ26", "t": 1, "px": 6000.25, "side": "B"}]',
        msgspec.json.encode(
            [{"type": "trade", "sym": "ESZ26", "t": time.time_ns(), "px": 6000.5, "sz": 1, "side": "S", "seq": 2}]
        ),
    ]

    async def handler(websocket: ServerConnection) -> None:
        await websocket.recv()
        for frame in frames:
            await websocket.send(frame)
        await websocket.wait_closed()

    async def scenario() -> StreamerRunner:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            runner = StreamerRunner(
                SimulatorClient(url=f"ws://127.0.0.1:{port}"), config(), redis_url=settings.REDIS_URL
            )

            async def body() -> None:
                await until(lambda: runner.dead_letters == 4 and runner.events_written == 2)

            await run_with(runner, body)
            return runner

    with caplog.at_level(logging.WARNING):
        runner = asyncio.run(scenario())

    assert [item.trade.price for item in trades_last(symbol="ESZ26")] == [6000.25, 6000.5]
    parked = dead_letters_list(source="simulator")
    assert len(parked) == 4
    reasons = [entry["reason"] for entry in reversed(parked)]
    assert reasons[0].startswith("invalid_json")
    assert reasons[2].startswith("unknown:teleport")
    assert reasons[3] == "trade: missing field 'sz'"
    assert parked[0]["location"] == "$.sz"
    assert parked[-1]["raw"] == "{not json"
    assert runner.reconnects == 0
    logged = [record.getMessage() for record in caplog.records if "streamer.dead_letter" in record.getMessage()]
    assert len(logged) == 3, "each kind is logged once, with a sample"
    assert any("{not json" in message for message in logged)


def test_a_silent_feed_trips_the_watchdog_and_reconnects() -> None:
    connections = 0

    async def handler(websocket: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await websocket.recv()
        await websocket.wait_closed()

    runtime_setting_update(key="marketdata.heartbeat_timeout_seconds", value=0.5)

    async def scenario() -> StreamerRunner:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            runner = StreamerRunner(
                SimulatorClient(url=f"ws://127.0.0.1:{port}"), config(), redis_url=settings.REDIS_URL
            )
            await run_with(runner, lambda: until(lambda: connections >= 2))
            return runner

    runner = asyncio.run(scenario())
    assert runner.reconnects >= 1


def test_symbols_and_on_off_follow_the_runtime_configuration_without_restart() -> None:
    runtime_setting_update(key="marketdata.symbols", value=["ESZ26", "NQZ26"])

    async def scenario() -> StreamerRunner:
        runner = StreamerRunner(
            SimulatorClient(rate=100, sessions=False), config(fixed_symbols=None), redis_url=settings.REDIS_URL
        )

        async def body() -> None:
            await until(lambda: runner.events_written > 50)
            await asyncio.to_thread(runtime_setting_update, key="marketdata.symbols", value=["ESZ26"])
            await until(lambda: runner._session_symbols == ["ESZ26"])
            await asyncio.to_thread(runtime_setting_update, key="marketdata.disabled_streamers", value=["simulator"])
            await until(lambda: runner.state == "disabled")
            await asyncio.to_thread(runtime_setting_update, key="marketdata.disabled_streamers", value=[])
            await until(lambda: runner.state == "connected")

        await run_with(runner, body)
        return runner

    runner = asyncio.run(scenario())
    assert runner.reconnects == 0
    assert runner.gaps == 0


def test_a_batch_redis_refuses_is_spilled_to_disk_and_the_feed_goes_on(tmp_path: Path) -> None:
    get_redis().set("md:trades:{ESZ26}", "not a stream")  # WRONGTYPE for every trade block

    async def scenario() -> StreamerRunner:
        runner = StreamerRunner(
            SimulatorClient(rate=200, sessions=False),
            config(fixed_symbols=("ESZ26",), spill_dir=tmp_path),
            redis_url=settings.REDIS_URL,
        )
        await run_with(
            runner, lambda: until(lambda: len(list(tmp_path.iterdir())) >= 2 and runner.events_written > 100)
        )
        return runner

    runner = asyncio.run(scenario())
    spilled = [decode_json(line) for path in tmp_path.iterdir() for line in path.read_bytes().splitlines()]
    assert any(isinstance(event, Trade) for event in spilled)
    assert quote_latest(symbol="ESZ26") is not None, "quotes of the same batches were still written"
    assert runner.state == "stopped"


def test_a_fast_feed_is_written_in_full_batches_and_loses_nothing(tmp_path: Path) -> None:
    """At high rates writes carry big batches: once events arrive while a write waits on Redis,
    the next write lingers a moment for a full batch instead of chasing the few events parsed
    meanwhile (that made blocks of a frame or two each, a script call and a block header per few
    hundred events, and cost half the ingest rate)."""
    from apps.core import keys
    from apps.marketdata.blocks import decode_trades
    from apps.marketdata.events import Side, encode_json

    base = time.time_ns()
    count = 100_000
    recording = tmp_path / "fast.jsonl"
    recording.write_bytes(
        b"".join(
            encode_json(Trade("ESZ26", base + i * 1000, base + i * 1000, 6000 + i % 8 * 0.25, 1, Side.BUY, "replay", i))
            + b"\n"
            for i in range(count)
        )
    )
    from streamers.replay.client import ReplayClient

    batch = 2000
    runner = StreamerRunner(
        ReplayClient(path=recording, speed=0),
        config(name="replay", fixed_symbols=("ESZ26",), batch_size=batch),
        redis_url=settings.REDIS_URL,
    )
    asyncio.run(runner.run())

    assert runner.events_written == count
    client = get_redis()
    entries = client.xrange(keys.trades("ESZ26"))
    stored = [trade.seq for _, fields in entries for trade in decode_trades("ESZ26", fields[b"d"])]
    assert stored == list(range(count)), "every trade, once, in order"
    blocks = len(entries)
    # Full batches, plus the odd short one (the first write after idle goes out at once, a linger
    # may end before a batch fills) and the rest at the end. Chasing wrote 85 blocks here, mostly
    # of one or two frames.
    sizes = [int(fields[b"n"]) for _, fields in entries]
    assert blocks <= count // batch * 5 // 4 + 2, f"{blocks} blocks for {count} trades: {sizes}"
    # Never more than a batch in one block, backlog or not: a block is one WebSocket frame.
    assert max(sizes) <= batch, sizes


def test_an_event_the_writer_cannot_encode_is_spilled_and_the_feed_goes_on(tmp_path: Path) -> None:
    """A batch holding an event the block format cannot take (a feed missing from FEED_CODES)
    goes to disk with the reason; the batches after it are written and the runner keeps going."""
    from apps.marketdata.events import Side

    base = time.time_ns()

    class Feed:
        name = "simulator"

        def __init__(self) -> None:
            self.frames = [[("simulator", 0)], [("unheard-of", 1)], [("simulator", 2)]]

        async def connect(self) -> None:
            return None

        async def subscribe(self, symbols: object) -> None:
            return None

        async def receive(self) -> bytes:
            await asyncio.sleep(0.2)  # one write per frame: the periodic flush runs in between
            if not self.frames:
                from streamers.feed import FeedExhaustedError

                raise FeedExhaustedError("done")
            return msgspec.json.encode(self.frames.pop(0))

        def parse(self, raw: bytes | str, *, ts_recv: int) -> list[Any]:
            return [
                Trade("ESZ26", base + seq, ts_recv, 6000.0, 1, Side.BUY, feed, seq)
                for feed, seq in msgspec.json.decode(raw)
            ]

        async def close(self) -> None:
            return None

    runner = StreamerRunner(Feed(), config(fixed_symbols=("ESZ26",), spill_dir=tmp_path), redis_url=settings.REDIS_URL)
    asyncio.run(runner.run())

    assert [item.trade.seq for item in trades_last(symbol="ESZ26", count=10)] == [0, 2]
    spilled = [line for path in tmp_path.iterdir() for line in path.read_bytes().splitlines()]
    assert [decode_json(line).seq for line in spilled] == [1]
    assert runner.state == "stopped"
