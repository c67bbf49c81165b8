"""Tick-to-client latency (issue 19, goals 1 and 4): from the tastytrade streamer receiving a
DXLink frame to a WebSocket client holding the decoded trade, against a bare `websockets` server
that broadcasts the same trades straight from the process receiving the frames, in one run.

    .venv/bin/python -m bench.tick_to_client --redis redis://127.0.0.1:6379/13 [--scenario real busy scale] [--seconds 20]

Scenarios: `real` 1,000 trades/s to 20 clients (goal p99 <= 10 ms), `busy` 5,000 trades/s to 200
clients (<= 25 ms), `scale` 5,000 trades/s to 1,000 clients (<= 50 ms); `busy` and `scale` add 10
clients that stop reading, which the gateway's policy must drop without slowing the others.

Processes per scenario and server: the fake tastytrade server (tests/fakes/tastytrade.py, the
DXLink protocol over a real socket) sending a frame of TimeAndSale rows every `--frame-ms`
(each row's time, to the microsecond, is when its frame was sent); then either this project's
path (`manage.py run_streamer tastytrade` -> Redis -> `uvicorn pipeline_project.asgi:application`,
/ws/trades) or the reference (the same tastytrade client and parser in one process, frames of
the same JSON shape broadcast with `websockets.broadcast`; no Redis, auth, queues or metrics);
and the clients, spread over `--client-processes` asyncio processes. `--decode` clients keep
every frame and parse it after the run: a trade's latency is its frame's receipt time minus the
trade's send time (one clock: one machine) plus the frame's parse time; the percentiles are
theirs. Every client must hold every trade the feed sent, once and in order. Uses (and
flushes) the given Redis database and a temporary SQLite database; Markdown to stdout
(docs/benchmarks.md, "Tick to client").
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
import urllib.request
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
        self.histogram = [0] * BUCKETS  # each trade's own latency, from the decoding clients
        self.oldest = [0] * BUCKETS  # the other clients: each frame's oldest trade, per trade of it
        self.counts = [0] * clients
        self.out_of_order = [0] * clients
        self.last: list[tuple[int, ...]] = [()] * clients
        self.messages = 0
        self.bytes = 0
        self.raw: dict[int, list[tuple[int, bytes]]] = {}
        self.decoded: dict[int, list[int]] = {}

    def add(self, latency_ms: float, trades: int, *, histogram: list[int] | None = None) -> None:
        chosen = self.histogram if histogram is None else histogram
        chosen[min(BUCKETS - 1, max(0, int(latency_ms / BUCKET_MS)))] += trades

    def held(self, index: int, trades: int, first_id: bytes, last_id: bytes) -> None:
        self.counts[index] += trades
        if trades:
            if _id_key(first_id) <= self.last[index]:
                self.out_of_order[index] += 1
            self.last[index] = _id_key(last_id)

    def decode_all(self) -> None:
        """The decoding clients' frames, parsed after the run: each trade's latency is its frame's
        receipt minus the trade's send time plus what parsing that frame took (measured here), as
        for a client decoding on a core of its own. Parsing during the run would have made every
        other client of this process wait for it, and counted that wait as the server's."""
        for index, frames in self.raw.items():
            stamps = self.decoded.setdefault(index, [])
            for received, data in frames:
                started = time.perf_counter_ns()
                message = json.loads(data)
                events = message["events"] if message.get("type") == "events" else []
                times = [event["ts_event"] for event in events]
                parsed = received + time.perf_counter_ns() - started
                for stamp in times:
                    self.add((parsed - stamp) / 1e6, 1)
                stamps += times
                if events:
                    self.held(index, len(events), events[0]["id"].encode(), events[-1]["id"].encode())


async def _client(index: int, args: argparse.Namespace, tally: Tally, ready: asyncio.Event, decode: bool) -> None:
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    async with connect(args.url, additional_headers=headers, compression=None, max_size=None, open_timeout=120) as ws:
        await ws.send(SUBSCRIBE)
        while b'"subscribed"' not in await ws.recv(decode=False):
            pass
        ready.set()
        raw = tally.raw.setdefault(index, []) if decode else None
        while True:
            data = await ws.recv(decode=False)
            received = time.time_ns()
            tally.messages += 1
            tally.bytes += len(data)
            if raw is not None:
                raw.append((received, data))  # decoded after the run (Tally.decode_all)
                continue
            # The other clients only find the frame's oldest trade (its first) and count the
            # trades: the latency of the oldest is counted for each (never less than the truth,
            # and more the longer the span of trades a frame carries).
            at = data.find(TS_MARK)
            if at < 0:
                continue
            at += len(TS_MARK)
            oldest = int(data[at : data.find(b",", at)])
            trades = data.count(ID_MARK)
            tally.add((received - oldest) / 1e6, trades, histogram=tally.oldest)
            start = data.find(ID_MARK) + len(ID_MARK)
            end = data.rfind(ID_MARK) + len(ID_MARK)
            tally.held(index, trades, data[start : data.find(b'"', start)], data[end : data.find(b'"', end)])


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
    # Spread over the clients (and so over the order they connected and are served in).
    decoding = {index * args.clients // args.decode for index in range(min(args.clients, args.decode))}
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
    tally.decode_all()
    errors = [repr(result) for result in ended if isinstance(result, BaseException) and not _cancelled(result)]
    result = {
        "histogram": {str(bucket): count for bucket, count in enumerate(tally.histogram) if count},
        "oldest": {str(bucket): count for bucket, count in enumerate(tally.oldest) if count},
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


def _start_clients(
    *,
    scenario: Scenario,
    args: argparse.Namespace,
    env: dict[str, str],
    url: str,
    token: str,
    out: Path,
    work: Path,
    tag: str,
) -> list[subprocess.Popen[str]]:
    """The clients in a few processes, so that one process's turn through its clients is not what
    is measured (the slow ones all in the first); each answers READY once all are subscribed."""
    share = -(-scenario.clients // args.client_processes)
    groups = []
    for number in range(args.client_processes):
        count = min(share, scenario.clients - number * share)
        if count <= 0:
            break
        log = work / f"{tag}-clients-{number}.log"
        group = _spawn(
            [
                _python(), "-m", "bench.tick_to_client", "--role", "clients", "--url", url,
                "--token", token, "--clients", str(count), "--slow", str(scenario.slow if number == 0 else 0),
                "--decode", str(-(-args.decode // args.client_processes)), "--out", f"{out}.{number}",
            ],
            env,
            log,
        )  # fmt: skip
        groups.append(group)
        _line(group, "READY", log)
    return groups


def _measure(
    *, scenario: Scenario, server: str, args: argparse.Namespace, env: dict[str, str], token: str, work: Path
) -> dict[str, Any]:
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    tag = f"{scenario.name}-{server}"
    sent_path, out = work / f"{tag}-sent.json", work / f"{tag}-clients.json"
    feed_log = work / f"{tag}-feed.log"
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
        groups = _start_clients(
            scenario=scenario, args=args, env=env, url=url, token=client_token, out=out, work=work, tag=tag
        )
        servers += groups
        cpu_start = [_cpu(process.pid) for process in servers]
        started = time.monotonic()
        _tell(feed, "GO")
        _line(feed, "SENT", feed_log)
        time.sleep(args.grace)
        elapsed = time.monotonic() - started
        cpu = [(_cpu(process.pid) - begin) / elapsed * 100 for process, begin in zip(servers, cpu_start, strict=True)]
        if server == "ours":
            # The gateway's own view, for where the time goes (pipeline_ws_send_latency_seconds).
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
                (work / f"{tag}-web-metrics.txt").write_bytes(answer.read())
        for group in groups:
            _tell(group, "STOP")
        for group in groups:
            group.wait(timeout=120)
        _tell(feed, "STOP")
    finally:
        for process in servers:
            _stop(process)
        _stop(feed)
    sent = json.loads(sent_path.read_text())
    result = _merged([json.loads(Path(f"{out}.{number}").read_text()) for number in range(len(groups))])
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
        "oldest_p99": _percentile(result["oldest"], 0.99),
        "complete": in_order and exact and all(count == expected for count in result["counts"]),
        "short": sum(1 for count in result["counts"] if count < expected),
        "over": sum(1 for count in result["counts"] if count > expected) + sum(map(bool, result["out_of_order"])),
        "slow_closes": result["slow_closes"],
        "errors": result["errors"],
        "cpu": [*cpu[: len(cpu) - len(groups)], sum(cpu[len(cpu) - len(groups) :])],
        "messages_per_client_s": result["messages"] / scenario.clients / args.seconds,
        "mb_per_s": result["bytes"] / args.seconds / 1e6,
    }


def _merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The client processes' results as one."""
    histograms: dict[str, dict[str, int]] = {"histogram": {}, "oldest": {}}
    for part in parts:
        for name, histogram in histograms.items():
            for bucket, count in part[name].items():
                histogram[bucket] = histogram.get(bucket, 0) + count
    decoded: dict[str, list[int]] = {}
    for number, part in enumerate(parts):
        decoded.update({f"{number}.{index}": stamps for index, stamps in part["decoded"].items()})
    return {
        **histograms,
        "decoded": decoded,
        **{name: [item for part in parts for item in part[name]] for name in ("counts", "out_of_order")},
        **{name: [item for part in parts for item in part[name]] for name in ("slow_closes", "errors")},
        **{name: sum(part[name] for part in parts) for name in ("messages", "bytes")},
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
        " | p99 ms, frame's oldest trade, all clients | slow clients | messages/s per client | MB/s to clients"
        " | CPU % (servers..., clients) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        scenario = row["scenario"]
        once = "yes" if row["complete"] else f"NO: {row['short']} clients short, {row['over']} doubled/out of order"
        if row["errors"]:
            once += f"; client errors: {row['errors'][:3]}"
        print(
            f"| {scenario.name}: {scenario.rate:,}/s to {scenario.clients:,} clients | {row['server']} | {row['sent']:,} "
            f"| {row['p50']:.2f} | {row['p99']:.2f} | {row['max']:.2f} | <= {scenario.goal_ms:g} | {once} "
            f"| {row['oldest_p99']:.2f} | {_closes(row['slow_closes'])} | {row['messages_per_client_s']:.0f} | {row['mb_per_s']:.1f} "
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
    parser.add_argument("--client-processes", type=int, default=2, help="processes the clients are spread over")
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
