"""Schwab ingest benchmark: raw Schwab streamer frames (LEVELONE_FUTURES changed-fields rows, the
wire bytes the streamer reads) through the real StreamerRunner — the Schwab parser (trades from
volume changes, merged quotes), batching and the hot-store writer — against the same run's
`redis-benchmark` pipelined XADD on the same Redis (goal >= 0.5, as bench/ingest.py for the simulator).

It also measures the parse step alone against schwab-py's own handling of the same frames
(`json.loads` and its field relabelling, what `StreamClient.handle_message` does before a handler
runs), the measurement behind "our own client" in docs/architecture.md.

    .venv/bin/python -m bench.schwab --redis redis://127.0.0.1:6379/5 [--events 1000000]

Uses (and flushes) the given Redis database. Results go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import redis  # noqa: E402

from apps.marketdata.events import Event  # noqa: E402
from bench.ingest import redis_benchmark_xadd  # noqa: E402
from streamers.config import RunnerConfig  # noqa: E402
from streamers.feed import FeedExhaustedError  # noqa: E402
from streamers.runner import StreamerRunner  # noqa: E402
from streamers.schwab.parsing import SchwabParser  # noqa: E402

KEYS = {"/ESZ26": "ESZ26", "/NQZ26": "NQZ26"}
ROWS_PER_FRAME = 100


def frames(count_events: int) -> tuple[list[bytes], int]:
    """Frames of changed-fields rows: each row a trade (price, size, volume, time) and a quote
    change, so two events per row after the first (full) row of each symbol."""
    rng = random.Random(1)  # noqa: S311 - a reproducible market, not cryptography
    state = {key: {"price": 5000.0 if "ES" in key else 18000.0, "volume": 100_000} for key in KEYS}
    now = int(time.time() * 1000)
    result: list[bytes] = []
    first = [
        {"key": key, "delayed": False, "1": s["price"] - 0.25, "2": s["price"], "3": s["price"], "4": 10, "5": 10,
         "8": s["volume"], "9": 1, "10": now, "11": now}
        for key, s in state.items()
    ]  # fmt: skip
    result.append(json.dumps({"data": [{"service": "LEVELONE_FUTURES", "timestamp": now, "content": first}]}).encode())
    produced = 0
    while produced < count_events:
        rows = []
        for _ in range(ROWS_PER_FRAME):
            key = rng.choice(list(KEYS))
            s = state[key]
            s["price"] += rng.choice((-0.25, 0.0, 0.25))
            size = rng.randint(1, 20)
            s["volume"] += size
            now += 1
            rows.append(
                {"key": key, "1": s["price"] - 0.25, "2": s["price"], "3": s["price"], "4": rng.randint(1, 50),
                 "5": rng.randint(1, 50), "8": s["volume"], "9": size, "10": now, "11": now}
            )  # fmt: skip
        result.append(
            json.dumps({"data": [{"service": "LEVELONE_FUTURES", "timestamp": now, "content": rows}]}).encode()
        )
        produced += 2 * ROWS_PER_FRAME
    return result, produced


class MemoryFeed:
    """Pre-generated raw frames handed to the real runner as if read from the socket."""

    name = "schwab"

    def __init__(self, raw_frames: list[bytes]) -> None:
        self.frames = iter(raw_frames)
        self.parser = SchwabParser(canonical_of=KEYS.__getitem__)

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
        return self.parser.parse(raw, ts_recv=ts_recv)

    async def close(self) -> None:
        return None


def ingest(url: str, raw_frames: list[bytes]) -> tuple[int, float]:
    runner = StreamerRunner(
        MemoryFeed(raw_frames), RunnerConfig(name="schwab", fixed_symbols=("ESZ26",)), redis_url=url
    )
    started = time.perf_counter()
    asyncio.run(runner.run())
    return runner.events_written, time.perf_counter() - started


def parse_rates(raw_frames: list[bytes]) -> tuple[float, float]:
    """Rows per second: our parser (events out) and schwab-py's message handling (labelled dicts out)."""
    from schwab.streaming import StreamClient

    rows = sum(len(json.loads(frame)["data"][0]["content"]) for frame in raw_frames)
    parser = SchwabParser(canonical_of=KEYS.__getitem__)
    started = time.perf_counter()
    for frame in raw_frames:
        parser.parse(frame, ts_recv=0)
    ours = rows / (time.perf_counter() - started)

    fields = StreamClient.LevelOneFuturesFields
    started = time.perf_counter()
    for frame in raw_frames:
        message = json.loads(frame)
        for data in message["data"]:
            for row in data["content"]:
                fields.relabel_message(row, row)
    theirs = rows / (time.perf_counter() - started)

    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    raw_frames, produced = frames(args.events)
    parse_ours, parse_theirs = parse_rates(raw_frames)
    written, seconds = ingest(args.redis, raw_frames)
    assert written >= produced, (written, produced)
    ours = written / seconds
    reference = redis_benchmark_xadd(args.redis, 1_000_000)
    client.flushdb()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| measure | ours | reference (same run) | ratio | goal |")
    print("|---|---|---|---|---|")
    print(
        f"| schwab ingest: raw frames -> parse -> Redis, events/s ({written:,} events) | {ours:,.0f}"
        f" | redis-benchmark XADD -P 100: {reference:,.0f} | {ours / reference:.2f} | >= 0.5 |"
    )
    print(
        f"| parse only, LEVELONE_FUTURES rows/s | {parse_ours:,.0f} | schwab-py json.loads + relabel:"
        f" {parse_theirs:,.0f} | {parse_ours / parse_theirs:.2f} | (the client choice) |"
    )


if __name__ == "__main__":
    main()
