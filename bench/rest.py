"""REST benchmark: latency of the API under 50 concurrent requests against a real uvicorn process.

1. `GET /api/ticks/last?symbol=ESZ26&count=100`: the last 100 trades from the hot store (100,000
   trades written by the real hot store writer), behind token auth and the rate limiter.
2. `GET /api/bars?interval=1m` over one lake day (trades in Parquet files in the lake layout,
   generated as bench/lake.py does): 1,440 one-minute bars through DuckDB.
3. Reference, same run, same client: `GET /health/live`, a bare Django JSON view through the same
   middleware stack, without auth or data.

    .venv/bin/python -m bench.rest --redis redis://127.0.0.1:6379/14 [--requests 500] [--day-trades 2000000]

Uses (and flushes) that Redis database; the database and the lake are temporary.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAY = datetime(2026, 11, 24, tzinfo=UTC)
CONCURRENCY = 50


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--requests", type=int, default=500, help="requests per measured endpoint (ticks, health)")
    parser.add_argument("--bars-requests", type=int, default=100, help="requests of the day of bars")
    parser.add_argument("--day-trades", type=int, default=2_000_000, help="trades in the lake day")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    return parser.parse_args()


def setup_environment(workdir: Path, redis_url: str) -> dict[str, str]:
    """The same settings for this process and the server: a fresh SQLite file, the lake, Redis."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.local",
            "PIPELINE_ENV_FILE": os.devnull,
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "REDIS_URL": redis_url,
            "EMBEDDED_REDIS": "never",
            "LAKE_DIR": str(workdir / "lake"),
            "LOG_LEVEL": "INFO",
        }
    )
    os.environ.update(env)
    return env


def prepare(redis_url: str, lake: Path, day_trades: int) -> str:
    """Migrate, a token, the limiter off, trades in the hot store, a day in the lake; returns the secret."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from apps.accounts.services import token_create
    from apps.core.services import runtime_setting_update
    from bench.lake import write_day

    call_command("migrate", verbosity=0)
    runtime_setting_update(key="api.rate_limit_per_minute", value=0)
    _, secret = token_create(user=User.objects.create_user(username="bench"), name="bench")
    asyncio.run(fill_hot(redis_url, count=100_000))
    write_day(lake, day_trades)
    return secret


async def fill_hot(url: str, *, count: int) -> None:
    """Trades of NQZ26 in the hot store, written as a streamer writes them (batches of 500); the
    lake day is ESZ26, so its bars come from the lake alone."""
    import redis.asyncio

    from apps.marketdata.events import Side, Trade
    from apps.marketdata.services.streams import HotStoreWriter

    client = redis.asyncio.Redis.from_url(url)
    writer = HotStoreWriter(client, feed="simulator")
    base = time.time_ns() - count * 1_000_000
    for first in range(0, count, 500):
        batch = [
            Trade("NQZ26", base + i * 1_000_000, base + i * 1_000_000, 21000 + i % 40 * 0.25, 1 + i % 9, Side(1 + i % 2), "simulator", i)
            for i in range(first, min(first + 500, count))
        ]  # fmt: skip
        await writer.write(batch)
    await client.aclose()


async def measure(base: str, path: str, *, requests: int, concurrency: int, headers: dict[str, str]) -> list[float]:
    import httpx

    latencies: list[float] = []
    remaining = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120) as client:
        warm = await client.get(path)
        if warm.status_code != 200:
            raise SystemExit(f"{path}: {warm.status_code} {warm.text[:300]}")

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        latencies.append(-(time.perf_counter() - started))  # the wall time, taken out below
    return latencies


def summary(latencies: list[float]) -> tuple[float, float, float]:
    wall = -latencies.pop()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000, len(ordered) / wall


def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from apps.core.embedded_redis import free_port

    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "pipeline_project.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"uvicorn did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def main() -> None:
    args = options()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per request of the client
    workdir = Path(tempfile.mkdtemp(prefix="bench-rest-"))
    env = setup_environment(workdir, args.redis)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    server = None
    try:
        secret = prepare(args.redis, workdir / "lake", args.day_trades)
        server, base = start_server(env, workdir / "uvicorn.log")
        auth = {"Authorization": f"Bearer {secret}"}
        day = f"start={DAY.isoformat()}&end={(DAY + timedelta(days=1) - timedelta(microseconds=1)).isoformat()}"
        day = day.replace("+", "%2B")
        runs = [
            ("GET /health/live (reference: bare Django JSON view)", "/health/live", args.requests, {}),
            ("GET /api/ticks/last?count=100", "/api/ticks/last?symbol=NQZ26&count=100", args.requests, auth),
            (
                f"GET /api/bars 1m over a lake day ({args.day_trades:,} trades)",
                f"/api/bars?symbol=ESZ26&interval=1m&{day}",
                args.bars_requests,
                auth,
            ),
        ]
        results = []
        for label, path, count, headers in runs:
            # One at a time first: the service time, which the concurrent run's queueing multiplies.
            alone = summary(asyncio.run(measure(base, path, requests=min(count, 50), concurrency=1, headers=headers)))
            loaded = summary(
                asyncio.run(measure(base, path, requests=count, concurrency=args.concurrency, headers=headers))
            )
            results.append((label, count, alone[0], *loaded))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis.Redis.from_url(args.redis).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

    import duckdb

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}; one uvicorn worker; {args.concurrency} concurrent requests (httpx, same machine)"
    )
    print()
    print(
        f"| endpoint | one at a time: p50 ms | {args.concurrency} concurrent: requests | p50 ms | p99 ms | requests/s |"
    )
    print("|---|---|---|---|---|---|")
    for label, count, alone, p50, p99, rate in results:
        print(f"| {label} | {alone:.1f} | {count:,} | {p50:.1f} | {p99:.1f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
