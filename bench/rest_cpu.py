"""CPU per REST request, endpoint by endpoint: what the web process spends on one answer.

On a shared machine requests/s and latency move with the other processes' load; the CPU time a
request costs barely does. The ASGI application is called in this process (no socket, no
client), ten requests at a time, and the process's CPU time (every thread) is divided by the
requests answered; the last row is the reference of bench/rest_concurrency.py (b), called the
same way. The data is bench/rest_concurrency.py's: 100,000 NQZ26 trades and a quote in
the hot store, a GEX snapshot of SPX, a lake day of ESZ26 trades.

    .venv/bin/python -m bench.rest_cpu --redis redis://127.0.0.1:6379/12 [--day-trades 500000]

Uses (and flushes) that Redis database; the SQLite database and the lake are temporary.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.rest import prepare, setup_environment

DAY = "start=2026-11-24T00:00:00%2B00:00&end=2026-11-24T23:59:59.999999%2B00:00"
ENDPOINTS = {
    "GET /health/live (a bare Django JSON view)": ("/health/live", b""),
    "GET /api/ticks/last?count=100": ("/api/ticks/last", b"symbol=NQZ26&count=100"),
    "GET /api/quotes/latest": ("/api/quotes/latest", b"symbol=NQZ26"),
    "GET /api/gex/latest": ("/api/gex/latest", b"ticker=SPX"),
    "GET /api/bars 1m over the lake day": ("/api/bars", f"symbol=ESZ26&interval=1m&{DAY}".encode()),
}

REFERENCE = "reference: the same ticks/last from a bare ASGI app (bench/rest_reference.py)"


async def call(application: Any, secret: str, path: str, query: bytes) -> None:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {secret}".encode())],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    received, sent = False, []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # after the body, a request waits for the disconnect that never comes
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    if sent[0]["status"] != 200:
        raise SystemExit(f"{path}: {sent[0]['status']} {sent[1].get('body', b'')[:300]!r}")


async def cpu_per_request(application: Any, secret: str, path: str, query: bytes, *, requests: int) -> float:
    async def caller() -> None:
        for _ in range(requests // 10):
            await call(application, secret, path, query)

    await asyncio.gather(*(caller() for _ in range(10)))  # warm
    started = time.process_time()
    await asyncio.gather(*(caller() for _ in range(10)))
    return (time.process_time() - started) / (requests // 10 * 10) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--day-trades", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=400, help="per endpoint (the bars: a quarter)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-rest-cpu-"))
    setup_environment(workdir, args.redis)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    try:
        secret = prepare(args.redis, workdir / "lake", args.day_trades)
        from bench.rest_concurrency import fill_more

        fill_more(args.redis)
        from pipeline_project.asgi import application

        logging.disable(logging.INFO)  # the request log line goes to this terminal, not a server's file
        results = {
            label: asyncio.run(
                cpu_per_request(
                    application, secret, path, query, requests=args.requests // (4 if "bars" in path else 1)
                )
            )
            for label, (path, query) in ENDPOINTS.items()
        }
        from bench.rest_reference import app as reference

        path, query = ENDPOINTS["GET /api/ticks/last?count=100"]
        results[REFERENCE] = asyncio.run(cpu_per_request(reference, secret, path, query, requests=args.requests))
    finally:
        redis.Redis.from_url(args.redis).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)
    load = os.getloadavg()
    print(
        f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"lake day of {args.day_trades:,} trades; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print()
    print("| endpoint | CPU ms per request |")
    print("|---|---|")
    for label, cpu in results.items():
        print(f"| {label} | {cpu:.2f} |")
    ours = results["GET /api/ticks/last?count=100"]
    print(f"\nticks/last CPU ratio (reference / ours): {results[REFERENCE] / ours:.2f}")


if __name__ == "__main__":
    main()
