"""REST under concurrent clients (issue 19, goal 2), against a real web process.

(a) Realistic load: 50 clients, each on its own keep-alive connection sending one request a
    second (phases spread over the second), rotating through last-100-trades, quotes/latest,
    gex/latest (hot store) and a day of 1-minute bars over the lake. Latency per request is
    counted from the moment it was due, so a request that waits for a late one is charged the wait.
    Goal: p99 ≤ 50 ms for the hot-store reads, ≤ 150 ms for the lake reads, no errors.
(b) Saturation: 50 connections sending `/api/ticks/last?count=100` back to back for a few seconds,
    against the web process and against the reference, a bare ASGI application answering the
    same JSON from the same Redis data (bench/rest_reference.py), in the same run. Goal: ours ≥ 0.5
    of the reference's requests/s. The reference's answer is checked to be the same JSON.

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams (httpx would spend more CPU
than the server on this 2-core machine); both servers run as one uvicorn process.

    .venv/bin/python -m bench.rest_concurrency --redis redis://127.0.0.1:6379/12

Uses (and flushes) that Redis database; the SQLite database and the lake are temporary.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson
import psutil

from bench.rest import ROOT, prepare, setup_environment

if TYPE_CHECKING:
    from apps.marketdata.events import Quote

DAY = datetime(2026, 11, 24, tzinfo=UTC)
HOT, LAKE = "hot", "lake"


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=40, help="length of the realistic-load run (a)")
    parser.add_argument("--saturation-seconds", type=float, default=8.0, help="length of each saturation run (b)")
    parser.add_argument("--day-trades", type=int, default=2_000_000, help="trades in the lake day")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the web process")
    return parser.parse_args()


class Connection:
    """One HTTP/1.1 keep-alive connection: GET, then read the status and the whole body."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def get(self, path: str) -> tuple[int, bytes]:
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}\r\n".encode()
        self.writer.write(request)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if error.partial:
                raise
            # The server closed an idle connection (uvicorn's keep-alive timeout): open another.
            self.close()
            await self.open()
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length or 0)
        body = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += await self.reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body[:-2])
            del body[-2:]

    def close(self) -> None:
        self.writer.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def realistic(
    host: str, port: int, auth: dict[str, str], paths: list[tuple[str, str, str]], *, clients: int, seconds: int
) -> dict[str, tuple[list[float], int]]:
    """Each client sends one request a second for `seconds`; returns name → (latencies, errors)."""
    results: dict[str, tuple[list[float], int]] = {name: ([], 0) for name, _, _ in paths}
    errors: dict[str, int] = dict.fromkeys(results, 0)
    warm = await Connection(host, port, auth).open()
    for _, _, path in paths:  # every endpoint once (the lake's views, the first DuckDB connection)
        await warm.get(path)
    warm.close()
    connections = [await Connection(host, port, auth).open() for _ in range(clients)]
    start = time.perf_counter() + 0.5
    rng = random.Random(19)  # noqa: S311 - spreads the clients over the second, reproducibly

    async def client(number: int, connection: Connection) -> None:
        phase = rng.random()
        for tick in range(seconds):
            name, _, path = paths[(number + tick) % len(paths)]
            due = start + phase + tick
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            status, _ = await connection.get(path)
            results[name][0].append(time.perf_counter() - due)
            if status != 200:
                errors[name] += 1

    await asyncio.gather(*(client(number, connection) for number, connection in enumerate(connections)))
    for connection in connections:
        connection.close()
    return {name: (latencies, errors[name]) for name, (latencies, _) in results.items()}


async def saturate(
    host: str, port: int, auth: dict[str, str], path: str, *, clients: int, seconds: float
) -> tuple[float, int]:
    """Requests/s of `clients` connections sending `path` back to back for `seconds`, and how many."""
    connections = [await Connection(host, port, auth).open() for _ in range(clients)]
    for connection in connections:
        await connection.get(path)
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(connection: Connection) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            status, body = await connection.get(path)
            if status != 200:
                raise SystemExit(f"{path}: {status} {body[:300]!r}")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return done / elapsed, done


async def body_of(host: str, port: int, auth: dict[str, str], path: str) -> bytes:
    connection = await Connection(host, port, auth).open()
    status, body = await connection.get(path)
    connection.close()
    if status != 200:
        raise SystemExit(f"{path}: {status} {body[:300]!r}")
    return body


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) of a server and its worker processes so far."""
    root = psutil.Process(process.pid)
    total = 0.0
    for each in [root, *root.children(recursive=True)]:
        times = each.cpu_times()
        total += times.user + times.system
    return total


def start(command: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    from apps.core.embedded_redis import free_port

    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *command, "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
             "--lifespan", "off"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"uvicorn {command[0]} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def fill_more(redis_url: str) -> None:
    """A quote of NQZ26 and a GEX snapshot of SPX, as the streamers and the GEX poll write them."""
    from apps.core.redis import get_redis
    from apps.gex.services.snapshots import snapshot_record
    from apps.gex.snapshots import GEXSnapshot, StrikeRow
    from apps.marketdata.events import Quote

    now = time.time_ns()
    asyncio.run(_write_quote(redis_url, Quote("NQZ26", now, now, 21000.0, 12, 21000.25, 9, "simulator")))
    strikes = tuple(StrikeRow(5800 + i * 5, 1e6 * (i - 20), 2e6 * (20 - i), (1.0, 2.0)) for i in range(41))
    snapshot = GEXSnapshot(
        ticker="SPX", package="classic", category="gex_zero", timestamp=now // 10**9, spot=5900.0, strikes=strikes
    )
    snapshot_record(snapshot=snapshot, client=get_redis(redis_url))


async def _write_quote(url: str, quote: Quote) -> None:
    import redis.asyncio

    from apps.marketdata.services.streams import HotStoreWriter

    client = redis.asyncio.Redis.from_url(url)
    await HotStoreWriter(client, feed="simulator").write([quote])
    await client.aclose()


Server = tuple[subprocess.Popen[bytes], int, dict[str, str]]


def measure(
    args: argparse.Namespace, servers: dict[str, Server], paths: list[tuple[str, str, str]], ticks: str
) -> tuple[dict[str, tuple[list[float], int]], float, dict[str, float], dict[str, float]]:
    """(a) on ours, then (b) on both: latencies, ours' CPU use under (a), requests/s and CPU ms per request."""
    ours, ours_port, auth = servers["ours"]
    bodies = [asyncio.run(body_of("127.0.0.1", port, headers, ticks)) for _, port, headers in servers.values()]
    if orjson.loads(bodies[0]) != orjson.loads(bodies[1]):
        raise SystemExit("the reference does not answer the same JSON as /api/ticks/last")
    cpu, started = cpu_seconds(ours), time.perf_counter()
    load = asyncio.run(realistic("127.0.0.1", ours_port, auth, paths, clients=args.clients, seconds=args.seconds))
    load_cpu = (cpu_seconds(ours) - cpu) / (time.perf_counter() - started)
    rates, cpu_per_request = {}, {}
    for name, (process, port, headers) in servers.items():
        cpu = cpu_seconds(process)
        rates[name], done = asyncio.run(
            saturate("127.0.0.1", port, headers, ticks, clients=args.clients, seconds=args.saturation_seconds)
        )
        cpu_per_request[name] = (cpu_seconds(process) - cpu) / done * 1000
    return load, load_cpu, rates, cpu_per_request


def main() -> None:
    args = options()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="bench-rest-concurrency-"))
    env = setup_environment(workdir, args.redis)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        secret = prepare(args.redis, workdir / "lake", args.day_trades)
        fill_more(args.redis)
        ours_command = ["pipeline_project.asgi:application", "--http",
                        "pipeline_project.uvicorn_protocol:BoundedHttpToolsProtocol", "--workers", str(args.workers)]  # fmt: skip
        ours, ours_port = start(ours_command, env, workdir / "web.log")
        processes.append(ours)
        reference, reference_port = start(["bench.rest_reference:app"], env, workdir / "reference.log")
        processes.append(reference)
        auth = {"Authorization": f"Bearer {secret}"}
        day_end = DAY + timedelta(days=1) - timedelta(microseconds=1)
        bars = f"/api/bars?symbol=ESZ26&interval=1m&start={quote(DAY.isoformat())}&end={quote(day_end.isoformat())}"
        ticks = "/api/ticks/last?symbol=NQZ26&count=100"
        paths = [
            ("GET /api/ticks/last?count=100", HOT, ticks),
            ("GET /api/quotes/latest", HOT, "/api/quotes/latest?symbol=NQZ26"),
            ("GET /api/gex/latest", HOT, "/api/gex/latest?ticker=SPX"),
            (f"GET /api/bars 1m, a lake day of {args.day_trades:,} trades", LAKE, bars),
        ]
        servers = {"ours": (ours, ours_port, auth), "reference": (reference, reference_port, {})}
        load, load_cpu, rates, cpu_per_request = measure(args, servers, paths, ticks)
        load_average = os.getloadavg()
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        redis.Redis.from_url(args.redis).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

    import duckdb

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}; web process: uvicorn, {args.workers} worker(s); "
        f"load average {load_average[0]:.2f} {load_average[1]:.2f} {load_average[2]:.2f}"
    )
    print()
    print(
        f"(a) {args.clients} clients x 1 request/s for {args.seconds} s, rotating through the endpoints; "
        f"the web process used {load_cpu:.2f} CPU-seconds per second"
    )
    print()
    print("| endpoint | store | requests | errors | p50 ms | p99 ms | goal p99 ms | met |")
    print("|---|---|---|---|---|---|---|---|")
    for name, store, _ in paths:
        latencies, errors = load[name]
        p50, p99 = statistics.median(latencies) * 1000, percentile(latencies, 0.99) * 1000
        goal = 50 if store == HOT else 150
        met = "yes" if p99 <= goal and errors == 0 else "no"
        print(f"| {name} | {store} | {len(latencies)} | {errors} | {p50:.1f} | {p99:.1f} | {goal} | {met} |")
    print()
    print(f"(b) saturation: {args.clients} connections back to back, {args.saturation_seconds:.0f} s each")
    print()
    print("| server | requests/s | server CPU ms per request |")
    print("|---|---|---|")
    print(
        "| ours: GET /api/ticks/last?count=100 (token, limiter, middleware, ninja) | "
        f"{rates['ours']:,.0f} | {cpu_per_request['ours']:.2f} |"
    )
    print(
        f"| reference: bare ASGI, same Redis data, same JSON | {rates['reference']:,.0f} | "
        f"{cpu_per_request['reference']:.2f} |"
    )
    print(
        f"| ratio ours / reference (goal ≥ 0.5) | {rates['ours'] / rates['reference']:.2f} | "
        f"{cpu_per_request['reference'] / cpu_per_request['ours']:.2f} (reference CPU / ours) |"
    )


if __name__ == "__main__":
    main()
