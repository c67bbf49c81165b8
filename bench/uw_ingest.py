"""UW ingest benchmark: option-trade frames (the captured payload shape, one trade per frame as
UW sends them) through the UW streamer's parse (exact Decimals) and sink (the dedup Lua script,
one call per batch of 2,000, a note per batch), in one process, against the same run's ceiling:
the same payloads appended raw with one pipelined XADD per trade and batch (no parse, no dedup).

    .venv/bin/python -m bench.uw_ingest --redis redis://127.0.0.1:6379/14 [--trades 100000]

Uses (and flushes) the given Redis database. Results go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time

import django
import orjson

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
django.setup()

import redis.asyncio  # noqa: E402

from apps.core import keys  # noqa: E402
from streamers.uw.framing import parse  # noqa: E402
from streamers.uw.sink import UWSink  # noqa: E402
from tests.fakes.uw import option_trade  # noqa: E402

BATCH = 2000


def trade_frames(count: int) -> list[bytes]:
    start = int(time.time() * 1000)
    return [
        orjson.dumps(["option_trades", option_trade(n=n, premium=f"{n % 9000}.25", executed_at=start + n)])
        for n in range(count)
    ]


async def ours(url: str, frames: list[bytes]) -> float:
    sink = UWSink(redis_url=url)
    started = time.perf_counter()
    for first in range(0, len(frames), BATCH):
        events = [event for frame in frames[first : first + BATCH] for event in parse(frame, ts_recv=0)]
        await sink.write(events)
    elapsed = time.perf_counter() - started
    await sink.close()
    return len(frames) / elapsed


async def ceiling(url: str, frames: list[bytes]) -> float:
    client = redis.asyncio.Redis.from_url(url)
    started = time.perf_counter()
    for first in range(0, len(frames), BATCH):
        pipe = client.pipeline(transaction=False)
        for frame in frames[first : first + BATCH]:
            pipe.xadd("bench:uw:raw", {"d": frame})
        await pipe.execute()
    elapsed = time.perf_counter() - started
    await client.aclose()
    return len(frames) / elapsed


def parse_rates(frames: list[bytes]) -> tuple[float, float]:
    """Our parse (typed, exact Decimals, every field checked) against orjson decoding the same
    frames to plain dicts (no types, floats from numbers)."""
    started = time.perf_counter()
    for frame in frames:
        parse(frame, ts_recv=0)
    ours_rate = len(frames) / (time.perf_counter() - started)
    started = time.perf_counter()
    for frame in frames:
        orjson.loads(frame)
    return ours_rate, len(frames) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True, help="a Redis database this script may flush")
    parser.add_argument("--trades", type=int, default=100_000)
    options = parser.parse_args()
    client = redis.Redis.from_url(options.redis)
    client.flushdb()
    frames = trade_frames(options.trades)
    rate = asyncio.run(ours(options.redis, frames))
    stored = client.xlen(keys.UW_OPTION_TRADES)
    again = asyncio.run(ours(options.redis, frames))  # every id again: all refused
    assert client.xlen(keys.UW_OPTION_TRADES) == stored == options.trades
    reference = asyncio.run(ceiling(options.redis, frames))
    parsed, decoded = parse_rates(frames)
    client.flushdb()
    print(f"machine {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| measure | ours | reference (same run) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| UW option trades: frame -> parse -> dedup -> Redis, trades/s | {rate:,.0f} | raw pipelined XADD: {reference:,.0f} | {rate / reference:.2f} |"
    )
    print(f"| the same trades again (all refused as repeats), trades/s | {again:,.0f} | | |")
    print(
        f"| parse only (typed, exact Decimals), frames/s | {parsed:,.0f} | orjson.loads: {decoded:,.0f} | {parsed / decoded:.2f} |"
    )


if __name__ == "__main__":
    main()
