"""Ingest benchmark: raw simulator frames through parse, normalize and the hot store writer, in
one process, against the same run's `redis-benchmark` pipelined XADD rate on the same Redis.
Then Redis memory per stored trade over >= 1M trades.

    .venv/bin/python -m bench.ingest --redis redis://127.0.0.1:6379/14 [--events 1000000]

Uses (and flushes) the given Redis database. Results go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import time
from urllib.parse import urlsplit

import django
import msgspec

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import redis  # noqa: E402
import redis.asyncio  # noqa: E402

from apps.core import keys  # noqa: E402
from apps.marketdata.events import Event, Trade, decode_json, encode_json  # noqa: E402
from apps.marketdata.services.streams import HotStoreWriter  # noqa: E402
from streamers.config import RunnerConfig  # noqa: E402
from streamers.feed import FeedExhaustedError  # noqa: E402
from streamers.runner import StreamerRunner  # noqa: E402
from streamers.simulator import parsing  # noqa: E402
from streamers.simulator.market import SimulatedMarket  # noqa: E402


def frames(count_events: int) -> tuple[list[bytes], int]:
    """Pre-generated raw frames (the wire bytes a feed would deliver), and the events they hold."""
    market = SimulatedMarket(symbols=["ESZ26", "NQZ26"], seed=1, rate=10_000)
    encoder = msgspec.json.Encoder()
    now, produced, result = time.time(), 0, []
    while produced < count_events:
        messages = []
        while len(messages) < 200:
            messages += market.step(int(now * 1e9))
            now += market.next_gap(now)
        result.append(encoder.encode(messages))
        produced += len(messages)
    return result, produced


class MemoryFeed:
    """Pre-generated raw frames handed to the real streamer runner as if read from a socket
    (one event-loop turn per frame, like a socket read), then the end of the feed."""

    name = "simulator"

    def __init__(self, raw_frames: list[bytes]) -> None:
        self.frames = iter(raw_frames)

    async def connect(self) -> None:
        return None

    async def subscribe(self, symbols: object) -> None:
        return None

    async def receive(self) -> bytes:
        await asyncio.sleep(0)
        try:
            return next(self.frames)
        except StopIteration:
            raise FeedExhaustedError("end of benchmark frames") from None

    def parse(self, raw: bytes | str, *, ts_recv: int) -> list[Event]:
        return parsing.parse(raw, ts_recv=ts_recv)

    async def close(self) -> None:
        return None


def ingest(url: str, raw_frames: list[bytes]) -> tuple[int, float]:
    """Events per second through the real StreamerRunner: parse, buffer, batched writes."""
    runner = StreamerRunner(
        MemoryFeed(raw_frames), RunnerConfig(name="simulator", fixed_symbols=("ESZ26",)), redis_url=url
    )
    started = time.perf_counter()
    asyncio.run(runner.run())
    return runner.events_written, time.perf_counter() - started


def redis_benchmark_xadd(url: str, requests: int) -> float:
    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/") or "0"
    output = subprocess.run(
        [
            "redis-benchmark", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379), "--dbnum", db,
            "-n", str(requests), "-P", "100", "-q", "--csv",
            "XADD", "bench:ref", "*", "p", "600025", "s", "3", "x", "5", "r", "1", "q", "123",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(row for row in output.splitlines() if row.startswith('"XADD'))
    return float(line.split(",")[1].strip('"'))


async def memory_per_trade(url: str, trades: int) -> tuple[float, float]:
    """Bytes per trade for our layout, and for one redis-py XADD per trade with named fields."""
    client = redis.asyncio.Redis.from_url(url)
    writer = HotStoreWriter(client, feed="simulator")
    base = int(time.time() * 1000) * 1_000_000
    batch: list[Event] = []
    for index in range(trades):
        price = 6000 + (index % 40) * 0.25
        batch.append(
            Trade(
                "ESZ26",
                base + index * 300_000,
                base + index * 300_000 + 1_000_000,
                price,
                1 + index % 7,
                1 + index % 2,
                "simulator",
                index,
            )
        )
        if len(batch) == RunnerConfig.batch_size:  # the runner's batches at high rates
            await writer.write(batch)
            batch = []
    if batch:
        await writer.write(batch)
    ours = await client.memory_usage(keys.trades("ESZ26"), samples=0)

    pipe = client.pipeline(transaction=False)
    for index in range(trades):
        pipe.xadd(
            "bench:naive",
            {"price": f"{6000 + (index % 40) * 0.25}", "size": 1 + index % 7, "side": "B", "ts": base + index},
        )
        if index % 10_000 == 9_999:
            await pipe.execute()
    await pipe.execute()
    naive = await client.memory_usage("bench:naive", samples=0)
    await client.aclose()
    return ours / trades, naive / trades


def codec_rates(sample: list[Event]) -> dict[str, float]:
    import orjson

    rates = {}
    started = time.perf_counter()
    encoded = [encode_json(event) for event in sample]
    rates["msgspec encode"] = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    for data in encoded:
        decode_json(data)
    rates["msgspec decode+validate"] = len(sample) / (time.perf_counter() - started)
    dicts = [msgspec.to_builtins(event) for event in sample]
    started = time.perf_counter()
    encoded_or = [orjson.dumps(item) for item in dicts]
    rates["orjson encode (dicts)"] = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    for data in encoded_or:
        orjson.loads(data)
    rates["orjson decode (no validation)"] = len(sample) / (time.perf_counter() - started)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--memory-trades", type=int, default=1_000_000)
    options = parser.parse_args()
    sync = redis.Redis.from_url(options.redis)
    sync.flushdb()

    raw_frames, produced = frames(options.events)
    written, elapsed = ingest(options.redis, raw_frames)
    ours = written / elapsed
    sync.flushdb()
    reference = redis_benchmark_xadd(options.redis, 1_000_000)
    sync.flushdb()
    per_trade, naive = asyncio.run(memory_per_trade(options.redis, options.memory_trades))
    sync.flushdb()
    sample = [event for frame in raw_frames[:500] for event in parsing.parse(frame, ts_recv=0)]
    rates = codec_rates(sample)

    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"Redis {sync.info()['redis_version']}")  # fmt: skip
    print()
    print("| measure | ours | reference (same run) | ratio | goal |")
    print("|---|---|---|---|---|")
    print(
        f"| ingest: raw frames -> parse -> Redis, events/s | {ours:,.0f} | redis-benchmark XADD -P 100: {reference:,.0f} | {ours / reference:.2f} | >= 0.5 |"
    )
    print(
        f"| Redis memory per trade, {options.memory_trades:,} trades | {per_trade:.1f} B | one redis-py XADD per trade: {naive:.1f} B | {per_trade / naive:.2f} | <= 24 B |"
    )
    for name, rate in rates.items():
        print(f"| {name}, events/s | {rate:,.0f} | | | |")
    print()
    print(f"({written:,} events of {produced:,} generated, {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
