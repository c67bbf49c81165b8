"""Tick-to-client latency (issue 19, goals 1 and 4): from the tastytrade streamer receiving a
DXLink frame to a WebSocket client holding the decoded trade, against a bare `websockets` server
that broadcasts the same trades straight from the process receiving the frames, in one run.

    .venv/bin/python -m bench.tick_to_client --redis redis://127.0.0.1:6379/13 [--scenario real busy scale] [--seconds 20]

Scenarios: `real` 1,000 trades/s to 20 clients (goal p99 <= 10 ms), `busy` 5,000 trades/s to 200
clients (<= 25 ms), `scale` 5,000 trades/s to 1,000 clients (<= 50 ms); `busy` and `scale` add 10
clients that stop reading, which the gateway's policy must drop without slowing the others.

Processes per scenario and server: the fake tastytrade server (tests/fakes/tastytrade.py, the
DXLink protocol over a real socket) sending a frame of TimeAndSale rows every `--frame-ms`
(each row's time, to the nanosecond, is when its frame was sent); then either this project's path
(`manage.py run_streamer tastytrade` -> Redis -> `uvicorn pipeline_project.asgi:application`,
/ws/trades) or the reference (the same tastytrade client and parser in one process, frames of the
same JSON shape broadcast with `websockets.broadcast`; no Redis, auth, queues or metrics); and
one asyncio process holding every client. A client's latency for a trade is its receipt time
minus the trade's send time (one clock: one machine). Every client must hold every trade the
feed sent, once and in order. Uses (and flushes) the given Redis database and a temporary SQLite
database; Markdown to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop

from bench.ws_fanout import ROOT, _cpu, _free_port, _machine, _python, _setup_django, _start, _stop, _wait_http

SYMBOL = "ESZ26"
DX_SYMBOL = "/ESZ26:XCME"
SUBSCRIBE = json.dumps({"action": "subscribe", "symbols": [SYMBOL]})
TS_MARK = b'"ts_event":'
ID_MARK = b'"id":"'
# Latency histogram: 0.05 ms buckets up to 20 s (a trade later than that counts in the last one).
BUCKET_MS = 0.05
BUCKETS = 400_000


@dataclass(frozen=True)
class Scenario:
    name: str
    rate: int
    clients: int
    slow: int
    goal_ms: float


SCENARIOS = {
    "real": Scenario("real", rate=1000, clients=20, slow=0, goal_ms=10),
    "busy": Scenario("busy", rate=5000, clients=200, slow=10, goal_ms=25),
    "scale": Scenario("scale", rate=5000, clients=1000, slow=10, goal_ms=50),
}


# -- the feed: the fake tastytrade server, paced --------------------------------------------------


async def _pace(fake: Any, *, rate: int, seconds: float, frame_ms: float) -> list[int]:
    from tests.fakes.tastytrade import time_and_sale

    frame_s = frame_ms / 1000
    frames = int(seconds / frame_s)
    sent: list[int] = []
    start = time.perf_counter()
    for number in range(frames):
        delay = start + number * frame_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due = int(rate * (number + 1) * frame_s) - len(sent)
        if due <= 0:
            continue
        now_us = time.time_ns() // 1000
        # A microsecond apart (the hot store keeps microseconds): every trade its own time.
        stamps = [(now_us + offset) * 1000 for offset in range(due)]
        rows = [
            time_and_sale(
                symbol=DX_SYMBOL,
                ts_ns=stamp,
                price=6000.0 + (len(sent) + offset) % 40 * 0.25,
                size=1 + offset % 3,
                side="BUY" if offset % 2 else "SELL",
                index=len(sent) + offset,
            )
            for offset, stamp in enumerate(stamps)
        ]
        await fake.publish_async("TimeAndSale", rows)
        sent += stamps
    return sent


def run_feed(args: argparse.Namespace) -> None:
    from tests.fakes.tastytrade import FakeTastytrade

    fake = FakeTastytrade(server_keepalive=5.0)
    fake.start()
    print(f"READY {fake.base_url}", flush=True)
    sys.stdin.readline()  # GO
    deadline = time.monotonic() + 60
    while not fake.subscribed("TimeAndSale", DX_SYMBOL):
        if time.monotonic() > deadline:
            raise SystemExit("nobody subscribed to TimeAndSale within 60 s")
        time.sleep(0.02)
    assert fake._loop is not None
    future = asyncio.run_coroutine_threadsafe(
        _pace(fake, rate=args.rate, seconds=args.seconds, frame_ms=args.frame_ms), fake._loop
    )
    sent = future.result()
    Path(args.out).write_text(json.dumps(sent))
    print(f"SENT {len(sent)}", flush=True)
    sys.stdin.readline()  # STOP
    fake.stop()


# -- the reference server ------------------------------------------------------------------------


async def run_reference(args: argparse.Namespace) -> None:
    """The tastytrade client and parser of the streamer, and `websockets.broadcast` of each
    frame's trades to every connection, in the process that receives the frames."""
    _setup_django()
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    from apps.marketdata.events import Trade
    from apps.realtime.topics import trade_event
    from streamers.tastytrade.client import TastytradeClient
    from streamers.tastytrade.config import TastytradeConfig
    from tests.fakes.tastytrade import FAKE_CLIENT_SECRET, FAKE_REFRESH_TOKEN

    connections: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribed", "topic": "trades", "symbols": [SYMBOL]}))
        connections.add(ws)
        try:
            await ws.wait_closed()
        finally:
            connections.discard(ws)

    client = TastytradeClient(
        TastytradeConfig(api_url=args.api_url, client_secret=FAKE_CLIENT_SECRET, refresh_token=FAKE_REFRESH_TOKEN),
        redis_url=args.redis,
    )
    head = {"type": "events", "topic": "trades", "symbol": SYMBOL}
    number = 0
    async with serve(handler, "127.0.0.1", args.port, max_size=None):
        await client.connect()
        await client.subscribe([SYMBOL])
        print("READY", flush=True)
        while True:
            message = await client.receive()
            trades = [event for event in client.parse(message, ts_recv=time.time_ns()) if isinstance(event, Trade)]
            if trades:
                number += 1
                events = [trade_event(f"{number}:{index}", trade) for index, trade in enumerate(trades)]
                broadcast(connections, json.dumps({**head, "events": events}, separators=(",", ":")))


# -- the clients ---------------------------------------------------------------------------------


def _id_key(text: bytes) -> tuple[int, ...]:
    return tuple(int(part) for part in text.replace(b"-", b":").split(b":"))


class Tally:
    """What every client of this process received: a latency histogram weighted by trades, and
    per client the trades held and whether they came once and in order."""

    def __init__(self, clients: int) -> None:
        self.histogram = [0] * BUCKETS
        self.counts = [0] * clients
        self.out_of_order = [0] * clients
        self.messages = 0
        self.bytes = 0
        self.decoded: dict[int, list[int]] = {}

    def add(self, latency_ms: float, trades: int) -> None:
        self.histogram[min(BUCKETS - 1, max(0, int(latency_ms / BUCKET_MS)))] += trades


async def _client(index: int, args: argparse.Namespace, tally: Tally, ready: asyncio.Event, decode: bool) -> None:
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    async with connect(args.url, additional_headers=headers, compression=None, max_size=None, open_timeout=120) as ws:
        await ws.send(SUBSCRIBE)
        while b'"subscribed"' not in await ws.recv(decode=False):
            pass
        ready.set()
        last: tuple[int, ...] = ()
        stamps = tally.decoded.setdefault(index, []) if decode else None
        while True:
            data = await ws.recv(decode=False)
            received = time.time_ns()
            if decode:
                # The client holding the decoded trade: the whole frame parsed, each trade's own time.
                message = json.loads(data)
                if message.get("type") != "events":
                    continue
                for event in message["events"]:
                    tally.add((received - event["ts_event"]) / 1e6, 1)
                    assert stamps is not None
                    stamps.append(event["ts_event"])
                trades = len(message["events"])
                first_id = message["events"][0]["id"].encode() if trades else b""
                last_id = message["events"][-1]["id"].encode() if trades else b""
            else:
                # The other clients only find the frame's oldest trade (its first) and count the
                # trades: the latency of the oldest is counted for each (never less than the truth).
                at = data.find(TS_MARK)
                if at < 0:
                    continue
                at += len(TS_MARK)
                oldest = int(data[at : data.find(b",", at)])
                trades = data.count(ID_MARK)
                tally.add((received - oldest) / 1e6, trades)
                start = data.find(ID_MARK) + len(ID_MARK)
                end = data.rfind(ID_MARK) + len(ID_MARK)
                first_id = data[start : data.find(b'"', start)]
                last_id = data[end : data.find(b'"', end)]
            tally.counts[index] += trades
            tally.messages += 1
            tally.bytes += len(data)
            if trades:
                if _id_key(first_id) <= last:
                    tally.out_of_order[index] += 1
                last = _id_key(last_id)


async def _slow_client(args: argparse.Namespace, ready: asyncio.Event, closes: list[Any]) -> None:
    """Subscribes, then stops reading: its socket fills and the server must drop it."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    # A small receive buffer, as a client on a slow link: otherwise the kernel's autotuning would
    # take up to 32 MB (tcp_rmem) here before the server could notice it does not read.
    address = urlsplit(args.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (address.hostname, address.port))
    ws = await connect(
        args.url, sock=sock, additional_headers=headers, compression=None, max_size=None, max_queue=1, open_timeout=120
    )
    await ws.send(SUBSCRIBE)
    while b'"subscribed"' not in await ws.recv(decode=False):
        pass
    ready.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        # Read what is left: a dropped client finds the server's close frame at the end.
        try:
            while True:
                await asyncio.wait_for(ws.recv(decode=False), timeout=2)
        except ConnectionClosed as error:
            closes.append([error.rcvd.code, error.rcvd.reason] if error.rcvd else [1006, "no close frame"])
        except TimeoutError:
            closes.append(None)
        raise


async def run_clients(args: argparse.Namespace) -> None:
    tally = Tally(args.clients)
    decoding = set(range(min(args.clients, args.decode)))
    closes: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    gate = asyncio.Semaphore(20)

    async def start(index: int, slow: bool) -> None:
        async with gate:
            ready = asyncio.Event()
            coroutine = (
                _slow_client(args, ready, closes) if slow else _client(index, args, tally, ready, index in decoding)
            )
            task = asyncio.create_task(coroutine)
            tasks.append(task)
            waiting = asyncio.create_task(ready.wait())
            await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if task.done():
                task.result()  # a client that could not connect or subscribe ends the run with its error

    await asyncio.gather(
        *(start(index, False) for index in range(args.clients)), *(start(-1, True) for _ in range(args.slow))
    )
    print("READY", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # STOP
    for task in tasks:
        task.cancel()
    ended = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [repr(result) for result in ended if isinstance(result, BaseException) and not _cancelled(result)]
    result = {
        "histogram": {str(bucket): count for bucket, count in enumerate(tally.histogram) if count},
        "counts": tally.counts,
        "out_of_order": tally.out_of_order,
        "messages": tally.messages,
        "bytes": tally.bytes,
        "decoded": {str(index): stamps for index, stamps in tally.decoded.items()},
        "slow_closes": closes,
        "errors": errors,
    }
    await asyncio.to_thread(Path(args.out).write_text, json.dumps(result))


def _cancelled(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)


# -- the orchestrator ----------------------------------------------------------------------------


def _percentile(histogram: dict[str, int], fraction: float) -> float:
    total = sum(histogram.values())
    if not total:
        return float("nan")
    wanted = fraction * total
    seen = 0
    for bucket in sorted(histogram, key=int):
        seen += histogram[bucket]
        if seen >= wanted:
            return (int(bucket) + 1) * BUCKET_MS
    return float("nan")


def _line(process: subprocess.Popen[Any], expect: str, log: Path) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(expect):
        _stop(process)
        raise SystemExit(f"expected {expect!r}, got {line!r}:\n{log.read_text(errors='replace')[-3000:]}")
    return line.strip()


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """A process told what to do on its stdin (GO, STOP) that answers on its stdout (READY, SENT)."""
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("wb"), text=True
    )


def _tell(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(f"{line}\n")
    process.stdin.flush()


def _measure(
    *, scenario: Scenario, server: str, args: argparse.Namespace, env: dict[str, str], token: str, work: Path
) -> dict[str, Any]:
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    tag = f"{scenario.name}-{server}"
    sent_path, out = work / f"{tag}-sent.json", work / f"{tag}-clients.json"
    feed_log, clients_log = work / f"{tag}-feed.log", work / f"{tag}-clients.log"
    feed = _spawn(
        [
            _python(), "-m", "bench.tick_to_client", "--role", "feed", "--rate", str(scenario.rate),
            "--seconds", str(args.seconds), "--frame-ms", str(args.frame_ms), "--out", str(sent_path),
        ],
        env,
        feed_log,
    )  # fmt: skip
    servers: list[subprocess.Popen[Any]] = []
    try:
        api_url = _line(feed, "READY", feed_log).split()[1]
        port = _free_port()
        if server == "ours":
            servers.append(
                _start(
                    [
                        _python(), "manage.py", "run_streamer", "tastytrade", "--symbols", SYMBOL, "--no-depth",
                        "--metrics-port", "0",
                    ],
                    {**env, "TASTYTRADE_API_URL": api_url},
                    work / f"{tag}-streamer.log",
                )
            )  # fmt: skip
            web_log = work / f"{tag}-web.log"
            web = _start(
                [
                    _python(), "-m", "uvicorn", "pipeline_project.asgi:application", "--host", "127.0.0.1",
                    "--port", str(port), "--lifespan", "off", "--log-level", "warning",
                ],
                env,
                web_log,
            )  # fmt: skip
            servers.append(web)
            _wait_http(f"http://127.0.0.1:{port}/health/live", web, web_log)
            url, client_token = f"ws://127.0.0.1:{port}/ws/trades", token
        else:
            reference_log = work / f"{tag}-reference.log"
            reference = _spawn(
                [
                    _python(), "-m", "bench.tick_to_client", "--role", "reference", "--api-url", api_url,
                    "--redis", args.redis, "--port", str(port),
                ],
                env,
                reference_log,
            )  # fmt: skip
            servers.append(reference)
            _line(reference, "READY", reference_log)
            url, client_token = f"ws://127.0.0.1:{port}", ""
        clients = _spawn(
            [
                _python(), "-m", "bench.tick_to_client", "--role", "clients", "--url", url, "--token", client_token,
                "--clients", str(scenario.clients), "--slow", str(scenario.slow), "--decode", str(args.decode),
                "--out", str(out),
            ],
            env,
            clients_log,
        )  # fmt: skip
        servers.append(clients)
        _line(clients, "READY", clients_log)
        cpu_start = [_cpu(process.pid) for process in servers]
        started = time.monotonic()
        _tell(feed, "GO")
        _line(feed, "SENT", feed_log)
        time.sleep(args.grace)
        elapsed = time.monotonic() - started
        cpu = [(_cpu(process.pid) - begin) / elapsed * 100 for process, begin in zip(servers, cpu_start, strict=True)]
        _tell(clients, "STOP")
        clients.wait(timeout=120)
        _tell(feed, "STOP")
    finally:
        for process in servers:
            _stop(process)
        _stop(feed)
    sent = json.loads(sent_path.read_text())
    result = json.loads(out.read_text())
    expected = len(sent)
    in_order = not any(result["out_of_order"])
    exact = all(sorted(stamps) == sent for stamps in result["decoded"].values())
    histogram = result["histogram"]
    return {
        "scenario": scenario,
        "server": server,
        "sent": expected,
        "p50": _percentile(histogram, 0.50),
        "p99": _percentile(histogram, 0.99),
        "max": _percentile(histogram, 1.0),
        "complete": in_order and exact and all(count == expected for count in result["counts"]),
        "short": sum(1 for count in result["counts"] if count < expected),
        "over": sum(1 for count in result["counts"] if count > expected) + sum(map(bool, result["out_of_order"])),
        "slow_closes": result["slow_closes"],
        "errors": result["errors"],
        "cpu": cpu,
        "messages_per_client_s": result["messages"] / scenario.clients / args.seconds,
        "mb_per_s": result["bytes"] / args.seconds / 1e6,
    }


def _closes(closes: list[Any]) -> str:
    if not closes:
        return "-"
    dropped = [close for close in closes if close is not None]
    codes = sorted({f"{code} {reason}".strip() for code, reason in dropped})
    return f"{len(dropped)} of {len(closes)} dropped ({'; '.join(codes) or 'none'})"


def orchestrate(args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet

    from tests.fakes.tastytrade import FAKE_CLIENT_SECRET, FAKE_REFRESH_TOKEN

    work = Path(tempfile.mkdtemp(prefix="tick-to-client-"))
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": args.redis,
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.local",
            "PYTHONUNBUFFERED": "1",
            "TASTYTRADE_ENABLED": "true",
            "TASTYTRADE_CLIENT_SECRET": FAKE_CLIENT_SECRET,
            "TASTYTRADE_REFRESH_TOKEN": FAKE_REFRESH_TOKEN,
            "BROKER_TOKEN_KEY": Fernet.generate_key().decode(),
        }
    )
    os.environ.update(env)
    _setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.accounts.services import token_create

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(username="bench", password="bench-only-password")  # noqa: S106
    _, token = token_create(user=user, name="tick-to-client benchmark")
    load_before = os.getloadavg()
    results = [
        _measure(scenario=SCENARIOS[name], server=server, args=args, env=env, token=token, work=work)
        for name in args.scenario
        for server in ("ours", "reference")
    ]
    load_after = os.getloadavg()

    print(f"machine: {_machine()}; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"feed: a DXLink FEED_DATA frame every {args.frame_ms:g} ms, {args.seconds:g} s per run; logs in {work}\n")
    print(
        "| scenario | server | trades sent | p50 ms | p99 ms | max ms | goal p99 | every trade once, in order"
        " | slow clients | messages/s per client | MB/s to clients | CPU % (servers..., clients) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        scenario = row["scenario"]
        once = "yes" if row["complete"] else f"NO: {row['short']} clients short, {row['over']} doubled/out of order"
        if row["errors"]:
            once += f"; client errors: {row['errors'][:3]}"
        print(
            f"| {scenario.name}: {scenario.rate:,}/s to {scenario.clients:,} clients | {row['server']} | {row['sent']:,} "
            f"| {row['p50']:.2f} | {row['p99']:.2f} | {row['max']:.2f} | <= {scenario.goal_ms:g} | {once} "
            f"| {_closes(row['slow_closes'])} | {row['messages_per_client_s']:.0f} | {row['mb_per_s']:.1f} "
            f"| {' / '.join(f'{value:.0f}' for value in row['cpu'])} |"
        )
    print()
    for name in args.scenario:
        ours, reference = (row for row in results if row["scenario"].name == name)
        print(
            f"- {name}: p99 ours {ours['p99']:.2f} ms / reference {reference['p99']:.2f} ms = "
            f"{ours['p99'] / reference['p99']:.2f}x; goal {SCENARIOS[name].goal_ms:g} ms "
            f"{'met' if ours['p99'] <= SCENARIOS[name].goal_ms and ours['complete'] else 'NOT met'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=("orchestrate", "feed", "reference", "clients"), default="orchestrate")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--scenario", nargs="+", choices=tuple(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the feed sends")
    parser.add_argument("--grace", type=float, default=2.0, help="seconds after the last frame before counting")
    parser.add_argument("--frame-ms", type=float, default=5.0, help="the feed's frame interval")
    parser.add_argument("--decode", type=int, default=10, help="clients that decode every frame in full")
    # Internal (the processes this script starts).
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--out", default="")
    parser.add_argument("--api-url", default="")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--slow", type=int, default=0)
    args = parser.parse_args()
    if args.role == "feed":
        run_feed(args)
    elif args.role == "reference":
        uvloop.run(run_reference(args))  # as uvicorn runs the project's server
    elif args.role == "clients":
        uvloop.run(run_clients(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
