"""tastytrade ingest benchmark: raw DXLink frames (COMPACT FEED_DATA, as the fake and the real
server send them) through the real tastytrade client's parse and the real StreamerRunner into
Redis, in one process, against the same run's `redis-benchmark` pipelined XADD on the same Redis.

    .venv/bin/python -m bench.tastytrade --redis redis://127.0.0.1:6379/14 [--events 1000000]

The frames hold the simulator's seeded market (tests/fakes/tastytrade.py `MarketScript`): each
print a TimeAndSale row (and a Trade last sale, which is counted but not written), each quote a
Quote row, each book change Order rows. Uses (and flushes) the given Redis database; prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from collections.abc import Sequence

import django
import msgspec

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import redis  # noqa: E402

from apps.marketdata.events import Event  # noqa: E402
from bench.ingest import redis_benchmark_xadd  # noqa: E402
from streamers.config import RunnerConfig  # noqa: E402
from streamers.feed import FeedExhaustedError  # noqa: E402
from streamers.runner import StreamerRunner  # noqa: E402
from streamers.tastytrade.client import TastytradeClient  # noqa: E402
from streamers.tastytrade.config import TastytradeConfig  # noqa: E402
from streamers.tastytrade.dxlink import CHANNELS, FIELDS  # noqa: E402
from tests.fakes.tastytrade import MarketScript  # noqa: E402

SYMBOLS = {"ESZ26": "/ESZ26:XCME", "NQZ26": "/NQZ26:XCME"}
ROWS_PER_FRAME = 200


def frames(count_rows: int) -> tuple[list[str], int]:
    """COMPACT FEED_DATA frames of up to ROWS_PER_FRAME rows of one event type (the server sends
    one type per channel), in market order, and the number of rows they hold."""
    script = MarketScript(dx_symbols=SYMBOLS, seed=1, rate=10_000)
    encoder = msgspec.json.Encoder()
    now, produced, result = time.time(), 0, []
    pending: dict[str, list[object]] = {event_type: [] for event_type in ("TimeAndSale", "Trade", "Quote", "Order")}
    counts = dict.fromkeys(pending, 0)

    def emit(event_type: str) -> None:
        frame = {"type": "FEED_DATA", "channel": CHANNELS[event_type], "data": [event_type, pending[event_type]]}
        result.append(encoder.encode(frame).decode())
        pending[event_type], counts[event_type] = [], 0

    while produced < count_rows:
        for event_type, rows in script.step(int(now * 1e9)).items():
            for row in rows:
                pending[event_type] += ["NaN" if row.get(name) is None else row[name] for name in FIELDS[event_type]]
                counts[event_type] += 1
                produced += 1
            if counts[event_type] >= ROWS_PER_FRAME:
                emit(event_type)
        now += script.market.next_gap(now)
    for event_type, count in counts.items():
        if count:
            emit(event_type)
    return result, produced


class FramesFeed:
    """The real tastytrade client's parse over pre-made frames, one event-loop turn per frame
    (like a socket read), then the end of the feed."""

    name = "tastytrade"

    def __init__(self, raw_frames: list[str]) -> None:
        self.frames = iter(raw_frames)
        self.client = TastytradeClient(
            TastytradeConfig(client_secret="bench", refresh_token="bench"),  # noqa: S106 - never sent: no connection
        )
        self.client.configure_channels()

    async def connect(self) -> None:
        return None

    async def subscribe(self, symbols: Sequence[str]) -> None:
        for canonical, dx in SYMBOLS.items():
            self.client._canonical[dx] = canonical

    async def receive(self) -> str:
        await asyncio.sleep(0)
        try:
            return next(self.frames)
        except StopIteration:
            raise FeedExhaustedError("end of benchmark frames") from None

    def parse(self, raw: str, *, ts_recv: int) -> list[Event]:
        return self.client.parse(raw, ts_recv=ts_recv)

    async def close(self) -> None:
        return None


def ingest(url: str, raw_frames: list[str]) -> tuple[int, float, int]:
    feed = FramesFeed(raw_frames)
    runner = StreamerRunner(feed, RunnerConfig(name="tastytrade", fixed_symbols=tuple(SYMBOLS)), redis_url=url)
    started = time.perf_counter()
    asyncio.run(runner.run())
    return runner.events_written, time.perf_counter() - started, sum(feed.client.context.rows_by_type.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--events", type=int, default=1_000_000, help="DXLink rows to generate")
    options = parser.parse_args()
    sync = redis.Redis.from_url(options.redis)
    sync.flushdb()

    raw_frames, produced = frames(options.events)
    written, elapsed, rows = ingest(options.redis, raw_frames)
    sync.flushdb()
    reference = redis_benchmark_xadd(options.redis, 1_000_000)
    sync.flushdb()

    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"Redis {sync.info()['redis_version']}")  # fmt: skip
    print()
    print("| measure | ours | reference (same run) | ratio | goal |")
    print("|---|---|---|---|---|")
    print(
        f"| tastytrade ingest: DXLink rows read, rows/s | {rows / elapsed:,.0f} | redis-benchmark XADD -P 100: {reference:,.0f} | {rows / elapsed / reference:.2f} | >= 0.5 |"
    )
    print(
        f"| tastytrade ingest: events written to Redis, events/s | {written / elapsed:,.0f} | redis-benchmark XADD -P 100: {reference:,.0f} | {written / elapsed / reference:.2f} | |"
    )
    print()
    print(
        f"({rows:,} rows of {produced:,} generated in {len(raw_frames):,} frames, {written:,} events written, {elapsed:.2f} s)"
    )


if __name__ == "__main__":
    main()
