"""WebSocket fan-out benchmark: N clients on /ws/trades for one symbol while the simulator streamer
writes R trades/s, against a bare `websockets` broadcast server fed the same frames, in one run.

    .venv/bin/python -m bench.ws_fanout --redis redis://127.0.0.1:6379/13 [--clients 200] [--rate 5000] [--seconds 20]

Uses (and flushes) the given Redis database, and a temporary SQLite database for the API token the
clients sign in with. Processes: the simulator (`manage.py run_streamer simulator`), the web server
(`uvicorn pipeline_project.asgi:application`, as the platform starts it), then the reference server,
and one light asyncio process holding all clients. This process only watches the stream: the time
it sees each entry appear is "written", and a client's latency is its receipt time minus that.
A drop is an entry written during the window that a client never received. Markdown to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYMBOL = "ESZ26"
SUBSCRIBE = json.dumps({"action": "subscribe", "symbols": [SYMBOL]})
ID_MARK = b'"id":"'


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_project.settings.local")
    import django

    django.setup()


# -- the clients' process ------------------------------------------------------------------------


async def _client(
    *,
    index: int,
    url: str,
    headers: dict[str, str],
    records: list[list[Any]],
    closes: dict[int, Any],
    ready: asyncio.Event,
    deflate: bool,
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    ws = await connect(
        url, additional_headers=headers, compression="deflate" if deflate else None, max_size=None, open_timeout=120
    )
    await ws.send(SUBSCRIBE)
    while b'"subscribed"' not in await ws.recv(decode=False):
        pass
    ready.set()
    mine = records[index]
    try:
        while True:
            data = await ws.recv(decode=False)
            received = time.time()
            first = data.find(ID_MARK)
            if first < 0:
                continue
            last = data.rfind(ID_MARK) + len(ID_MARK)
            first += len(ID_MARK)
            # A frame holds consecutive entries: (first entry, last entry, events, receipt time).
            # Nothing else is parsed, to keep the clients' side light.
            mine.append(
                (
                    data[first : data.find(b":", first)].decode(),
                    data[last : data.find(b":", last)].decode(),
                    data.count(ID_MARK),
                    received,
                )
            )
    except ConnectionClosed as error:
        closes[index] = [error.rcvd.code, error.rcvd.reason] if error.rcvd else [1006, "no close frame"]
    except asyncio.CancelledError:
        await ws.close()
        raise


async def run_clients(args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    records: list[list[Any]] = [[] for _ in range(args.clients)]
    closes: dict[int, Any] = {}
    tasks = []
    gate = asyncio.Semaphore(20)

    async def start(index: int) -> None:
        async with gate:
            ready = asyncio.Event()
            task = asyncio.create_task(
                _client(
                    index=index,
                    url=args.url,
                    headers=headers,
                    records=records,
                    closes=closes,
                    ready=ready,
                    deflate=args.deflate,
                )
            )
            tasks.append(task)
            waiting = asyncio.create_task(ready.wait())
            await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if task.done():
                task.result()  # a client that could not connect or subscribe ends the run with its error

    await asyncio.gather(*(start(index) for index in range(args.clients)))
    t_ready = time.time()
    print(f"READY {t_ready}", flush=True)
    await asyncio.sleep(args.warmup + args.duration + args.grace)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    result = json.dumps({"t_ready": t_ready, "records": records, "closes": closes})
    await asyncio.to_thread(Path(args.out).write_text, result)


# -- the reference server ------------------------------------------------------------------------


async def run_reference(args: argparse.Namespace) -> None:
    """A bare `websockets` server: one XREAD loop, the same frames (topics.Topic.frames: the entries
    of one read in one message), and `websockets.broadcast` to every connection. No auth, queues,
    replay or metrics."""
    _setup_django()
    import redis.asyncio
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    from apps.core import keys
    from apps.realtime.topics import TOPICS

    connections: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribed", "topic": "trades", "symbols": [SYMBOL]}))
        connections.add(ws)
        try:
            await ws.wait_closed()
        finally:
            connections.discard(ws)

    client = redis.asyncio.Redis.from_url(args.redis)
    key = keys.trades(SYMBOL)
    topic = TOPICS["trades"]
    async with serve(handler, "127.0.0.1", args.port, max_size=None):
        last = await client.xrevrange(key, count=1)
        position = last[0][0].decode() if last else "0-0"
        print("READY", flush=True)
        while True:
            reply = await client.xread({key: position}, count=200, block=100)
            for _, entries in reply or []:
                position = entries[-1][0].decode()
                pieces = topic.pieces(SYMBOL, [(entry_id.decode(), fields) for entry_id, fields in entries])
                for frame in topic.frames(SYMBOL, pieces, live=True):
                    broadcast(connections, frame.text)


# -- the orchestrator ----------------------------------------------------------------------------


@dataclass
class Probe:
    """Watches the trades stream from this (otherwise idle) process: when each entry appeared."""

    url: str
    seen: dict[str, tuple[float, int]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import redis

        from apps.core import keys

        client = redis.Redis.from_url(self.url)
        key = keys.trades(SYMBOL)
        position = "$"
        while not self.stop.is_set():
            reply = client.xread({key: position}, count=1000, block=200)
            now = time.time()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    position = entry_id.decode()
                    self.seen[position] = (now, int(fields[b"n"]))


def _python() -> str:
    return sys.executable


def _start(args: list[str], env: dict[str, str], log: Path, *, stdout: Any = None) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=stdout if stdout is not None else log.open("wb"),
        stderr=log.open("ab") if stdout is not None else subprocess.STDOUT,
        text=stdout is not None,
    )


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    from apps.core.embedded_redis import free_port

    return free_port()


def _wait_http(url: str, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http://127.0.0.1 server
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not answer {url}")


def _cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _entry(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _measure(
    *,
    name: str,
    server: subprocess.Popen[Any],
    simulator: subprocess.Popen[Any],
    url: str,
    token: str,
    args: argparse.Namespace,
    env: dict[str, str],
    probe: Probe,
    work: Path,
) -> dict[str, Any]:
    out = work / f"{name}.json"
    clients = _start(
        [
            _python(), "-m", "bench.ws_fanout", "--role", "clients", "--url", url, "--token", token,
            "--clients", str(args.clients), "--warmup", str(args.warmup), "--duration", str(args.seconds),
            "--out", str(out), *(["--deflate"] if args.deflate else []),
        ],
        env,
        work / f"{name}-clients.log",
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert clients.stdout is not None
    line = clients.stdout.readline()
    if not line.startswith("READY"):
        raise SystemExit(f"clients did not start: {line}\n{(work / f'{name}-clients.log').read_text()[-3000:]}")
    t_ready = float(line.split()[1])
    time.sleep(max(0.0, t_ready + args.warmup - time.time()))
    cpu_start = (_cpu(server.pid), _cpu(clients.pid), _cpu(simulator.pid))
    time.sleep(args.seconds)
    cpu_end = (_cpu(server.pid), _cpu(clients.pid), _cpu(simulator.pid))
    clients.wait(timeout=args.seconds + 120)
    result = json.loads(out.read_text())

    window = (t_ready + args.warmup, t_ready + args.warmup + args.seconds)
    seen = sorted((_entry(entry), info) for entry, info in list(probe.seen.items()))
    order = [entry for entry, _ in seen]
    expected = {entry: info for entry, info in seen if window[0] <= info[0] < window[1]}
    latencies: list[float] = []
    from_id: list[float] = []
    delivered = 0
    missing = 0
    for frames in result["records"]:
        got = set()
        for first, last, _, received in frames:
            for index in range(bisect.bisect_left(order, _entry(first)), bisect.bisect_right(order, _entry(last))):
                entry = order[index]
                if entry in expected:
                    got.add(entry)
                    delivered += expected[entry][1]
                    latencies.append((received - expected[entry][0]) * 1000)
                    from_id.append(received * 1000 - entry[0])
        missing += len(set(expected) - got)
    written_events = sum(events for _, events in expected.values())
    return {
        "name": name,
        "clients": args.clients,
        "written_per_s": written_events / args.seconds,
        "entries_per_s": len(expected) / args.seconds,
        "delivered_per_s": delivered / args.seconds,
        "complete": delivered == written_events * args.clients,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": _percentile(latencies, 0.99),
        "max": max(latencies) if latencies else float("nan"),
        "id_p50": statistics.median(from_id) if from_id else float("nan"),
        "id_p99": _percentile(from_id, 0.99),
        "missing": missing,
        "closes": result["closes"],
        "server_cpu": (cpu_end[0] - cpu_start[0]) / args.seconds * 100,
        "clients_cpu": (cpu_end[1] - cpu_start[1]) / args.seconds * 100,
        "simulator_cpu": (cpu_end[2] - cpu_start[2]) / args.seconds * 100,
    }


def _machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def orchestrate(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="ws-fanout-"))
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": args.redis,
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.local",
            "PYTHONUNBUFFERED": "1",
        }
    )
    os.environ.update(env)
    _setup_django()
    import redis
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.accounts.services import token_create

    redis.Redis.from_url(args.redis).flushdb()
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(username="bench", password="bench-only-password")  # noqa: S106
    _, token = token_create(user=user, name="ws fan-out benchmark")

    simulator = _start(
        [
            _python(), "manage.py", "run_streamer", "simulator", "--symbols", SYMBOL, "--rate", str(args.rate),
            "--always-open", "--metrics-port", "0", "--batch-size", str(args.batch_size),
        ],
        env,
        work / "simulator.log",
    )  # fmt: skip
    probe = Probe(args.redis)
    watcher = threading.Thread(target=probe.run, daemon=True)
    watcher.start()
    results = []
    try:
        port = _free_port()
        web = _start(
            [
                _python(), "-m", "uvicorn", "pipeline_project.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--lifespan", "off", "--log-level", "warning",
            ],
            env,
            work / "web.log",
        )  # fmt: skip
        try:
            _wait_http(f"http://127.0.0.1:{port}/health/live", web, work / "web.log")
            results.append(
                _measure(
                    name="channels relay (this project)",
                    server=web,
                    simulator=simulator,
                    url=f"ws://127.0.0.1:{port}/ws/trades",
                    token=token,
                    args=args,
                    env=env,
                    probe=probe,
                    work=work,
                )
            )
        finally:
            _stop(web)
        port = _free_port()
        reference = _start(
            [_python(), "-m", "bench.ws_fanout", "--role", "reference", "--redis", args.redis, "--port", str(port)],
            env,
            work / "reference.log",
            stdout=subprocess.PIPE,
        )
        try:
            assert reference.stdout is not None
            if reference.stdout.readline().strip() != "READY":
                raise SystemExit((work / "reference.log").read_text())
            results.append(
                _measure(
                    name="bare websockets broadcast (reference)",
                    server=reference,
                    simulator=simulator,
                    url=f"ws://127.0.0.1:{port}/",
                    token="",
                    args=args,
                    env=env,
                    probe=probe,
                    work=work,
                )
            )
        finally:
            _stop(reference)
    finally:
        probe.stop.set()
        _stop(simulator)
        watcher.join(timeout=5)

    print(f"\nMachine: {_machine()}; Redis {redis.Redis.from_url(args.redis).info('server')['redis_version']}")
    print(
        f"{args.clients} clients on one symbol, simulator at --rate {args.rate:g}, {args.seconds:g} s measured after "
        f"{args.warmup:g} s warm-up, permessage-deflate {'on' if args.deflate else 'off'}; "
        "latency from the entry's appearance in Redis to a client's receipt.\n"
    )
    print(
        "| server | trades written/s | entries/s | events delivered/s (all clients) | p50 ms | p99 ms | max ms | p99 ms from entry id | missed entries | closes | server CPU % | clients CPU % | simulator CPU % |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| {row['name']} | {row['written_per_s']:,.0f} | {row['entries_per_s']:.1f} | {row['delivered_per_s']:,.0f} "
            f"| {row['p50']:.1f} | {row['p99']:.1f} | {row['max']:.1f} | {row['id_p99']:.1f} | {row['missing']} "
            f"| {len(row['closes'])} | {row['server_cpu']:.0f} | {row['clients_cpu']:.0f} | {row['simulator_cpu']:.0f} |"
        )
    print(f"\nLogs: {work}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=["orchestrate", "clients", "reference"], default="orchestrate")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5000.0, help="simulator trades per second")
    parser.add_argument("--batch-size", type=int, default=500, help="the simulator's events per Redis write at most")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--grace", type=float, default=2.0, help="clients keep listening this long after the window")
    parser.add_argument(
        "--deflate", action="store_true", help="clients ask for permessage-deflate, as browsers do (default: off)"
    )
    parser.add_argument("--url")
    parser.add_argument("--token", default="")
    parser.add_argument("--port", type=int)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.role == "clients":
        import uvloop

        args.seconds = args.duration
        uvloop.run(run_clients(args))
    elif args.role == "reference":
        import uvloop

        uvloop.run(run_reference(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
