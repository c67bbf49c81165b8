"""The hot store on a real Redis Cluster (three masters on free loopback ports).

The hot-store Lua scripts (trades, GEX snapshots) and the flush run per call; then the platform
itself with REDIS_CLUSTER_URLS: the simulator streamer as a process, the WebSocket relay of a
real web server, and the flush task, with streams of different symbols on different nodes. Each
call's keys share a slot: the cluster refuses anything else with CROSSSLOT, and no node counted
one. What is not on the cluster yet is in docs/scaling.md."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import redis
import uvicorn
from redis.cluster import ClusterNode, RedisCluster

from apps.accounts.services import token_create
from apps.core import keys
from apps.core.redis import get_redis, reset_pools
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from apps.marketdata.blocks import TradeColumns, encode_trades
from apps.marketdata.events import to_price_int
from apps.marketdata.selectors import trades_last
from apps.marketdata.services.scripts import TRADES
from apps.storage.flush import streams_flush
from tests.apps.realtime.support import open_ws, recv_json, subscribe
from tests.factories import T0, trade

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")]
SYMBOLS = ("ESZ26", "NQZ26", "CLZ26", "GCZ26", "YMZ26", "RTYZ26")


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too (and below 65536)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1]) - 10000
        if port < 1024:
            continue
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    ports = [_cluster_port() for _ in range(3)]
    servers = []
    for port in ports:
        directory = tmp_path / str(port)
        directory.mkdir()
        servers.append(
            subprocess.Popen(
                [
                    shutil.which("redis-server") or "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(directory),
                ],
                stdout=subprocess.DEVNULL,
            )
        )
    try:
        for port in ports:
            _wait(
                lambda port=port: (
                    subprocess.run(
                        [shutil.which("redis-cli") or "redis-cli", "-p", str(port), "ping"],
                        capture_output=True,
                        check=False,
                    ).stdout.strip()
                    == b"PONG"
                )
            )
        subprocess.run(
            [
                shutil.which("redis-cli") or "redis-cli",
                "--cluster",
                "create",
                *[f"127.0.0.1:{port}" for port in ports],
                "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        for port in ports:
            _wait(
                lambda port=port: (
                    b"cluster_state:ok"
                    in subprocess.run(
                        [shutil.which("redis-cli") or "redis-cli", "-p", str(port), "cluster", "info"],
                        capture_output=True,
                        check=False,
                    ).stdout
                )
            )
        client = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", port) for port in ports])
        client.seed_urls = [f"redis://127.0.0.1:{port}" for port in ports]  # type: ignore[attr-defined]
        yield client
        client.close()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def _wait(condition: object) -> None:
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the cluster did not come up"
        time.sleep(0.1)


def test_hot_store_scripts_and_the_flush_run_on_a_three_master_cluster_one_slot_per_call(
    cluster: RedisCluster, tmp_path: Path
) -> None:
    nodes = {cluster.get_node_from_key(keys.trades(symbol)).name for symbol in SYMBOLS}
    assert len(nodes) >= 2, "the symbols' streams spread over the masters"
    script = cluster.register_script(TRADES)
    for symbol in SYMBOLS:
        # One symbol's keys: the stream, its last-value hash, the flush checkpoint and lock.
        related = [keys.trades(symbol), keys.last(symbol)]
        related += [keys.lake_checkpoint(keys.trades(symbol)), keys.lake_lock(keys.trades(symbol))]
        assert len({cluster.keyslot(key) for key in related}) == 1, symbol
        batch = [trade(index, 6000.0 + index * 0.25, seq=index, symbol=symbol) for index in range(5)]
        last = batch[-1]
        # The writer's script, called as the writer calls it (both keys of one symbol).
        count, _ = script(
            keys=related[:2],
            args=[
                batch[0].ts_event // 1_000_000,
                encode_trades(TradeColumns.of(batch)),
                len(batch),
                to_price_int(last.price),
                last.size,
                last.ts_event // 1_000_000,
            ],
        )
        assert count == 5

    snapshot = GEXSnapshot(
        ticker="ES_SPX",
        package="classic",
        category="gex_zero",
        timestamp=int(T0.timestamp()),
        spot=6000.0,
        zero_gamma=5990.0,
        major_pos_vol=6020.0,
        major_neg_vol=5970.0,
        sum_gex_vol=1234.5,
        strikes=(StrikeRow(5995.0, -1.5, 2.0, (1.0, None)),),
    )
    assert snapshot_record(snapshot=snapshot, client=cluster) is not None  # type: ignore[arg-type]
    assert snapshot_record(snapshot=snapshot, client=cluster) is None  # the same timestamp once

    lake = tmp_path / "lake"
    lake.mkdir()
    results = streams_flush(client=cluster, lake=lake)  # type: ignore[arg-type]
    assert [result.error for result in results] == [None] * len(results)
    flushed = {result.key: result.rows for result in results}
    assert {keys.trades(symbol): 5 for symbol in SYMBOLS}.items() <= flushed.items()
    rows = duckdb.sql(
        f"select symbol, count(*) from read_parquet('{lake}/tick_data/**/*.parquet', hive_partitioning = true) group by 1"
    ).fetchall()
    assert dict(rows) == dict.fromkeys(SYMBOLS, 5)
    # A second run finds nothing new: the checkpoints and acknowledgements held on every node.
    assert all(result.rows == 0 for result in streams_flush(client=cluster, lake=lake))  # type: ignore[arg-type]


ROOT = Path(__file__).resolve().parents[1]
SIMULATOR_OPTIONS = ("--rate", "40", "--always-open", "--metrics-port", "0")
# A safety net against a hang, never a measurement.
WAIT_SECONDS = 60


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _web_server() -> tuple[uvicorn.Server, threading.Thread, int]:
    """The real ASGI application in uvicorn, in a thread of this process (so it sees this test's
    settings: REDIS_CLUSTER_URLS)."""
    from pipeline_project.asgi import application

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(application, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    _until(lambda: server.started or not thread.is_alive(), "the web server")
    assert server.started, "the web server did not start"
    return server, thread, int(sock.getsockname()[1])


async def _trade_events(ws: Any, *, count: int) -> list[tuple[str, dict[str, Any]]]:
    """(symbol, event) of the `events` frames until `count` trades arrived."""
    events: list[tuple[str, dict[str, Any]]] = []
    while len(events) < count:
        frame = await recv_json(ws)
        assert frame["type"] == "events", frame
        events += [(frame["symbol"], event) for event in frame["events"]]
    return events


def _simulator(symbols: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`run_streamer simulator` as a process, trading around the clock."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_streamer",
                "simulator",
                "--symbols",
                ",".join(symbols),
                *SIMULATOR_OPTIONS,
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_simulator_relay_and_flush_run_on_the_cluster_every_trade_once_each_call_in_one_slot(
    cluster: RedisCluster, tmp_path: Path, settings: Any, process_env: dict[str, str], transactional_db: None
) -> None:
    from apps.storage.tasks import flush_streams

    symbols = list(SYMBOLS)
    seeds = cluster.seed_urls  # type: ignore[attr-defined]
    settings.REDIS_CLUSTER_URLS = seeds
    settings.LAKE_DIR = tmp_path / "lake"
    settings.LAKE_DIR.mkdir()
    reset_pools()
    owners = {symbol: cluster.get_node_from_key(keys.trades(symbol)) for symbol in symbols}
    assert len({node.name for node in owners.values()}) >= 2, "the symbols' streams spread over the masters"
    _, secret = token_create(
        user=__import__("django.contrib.auth", fromlist=["get_user_model"])
        .get_user_model()
        .objects.create_user(username="cluster", password="not-a-real-password"),
        name="cluster test",
    )
    server, thread, port = _web_server()
    streamer: subprocess.Popen[bytes] | None = None
    log = tmp_path / "simulator.log"
    try:

        async def scenario() -> list[tuple[str, dict[str, Any]]]:
            nonlocal streamer
            ws = await open_ws(f"ws://127.0.0.1:{port}/ws/trades", headers={"Authorization": f"Bearer {secret}"})
            try:
                reply = await subscribe(ws, symbols)
                assert reply == {"type": "subscribed", "topic": "trades", "symbols": symbols}
                streamer = await asyncio.to_thread(
                    _simulator, symbols, {**process_env, "REDIS_CLUSTER_URLS": ",".join(seeds)}, log
                )
                # Trades of every symbol reached the cluster; then SIGTERM writes out the buffer.
                await asyncio.to_thread(
                    _until,
                    lambda: (
                        all(len(trades_last(symbol=s, count=30, client=cluster)) >= 30 for s in symbols)  # type: ignore[arg-type]
                        or streamer.poll() is not None
                    ),  # type: ignore[union-attr]
                    "trades of every symbol on the cluster",
                )
                assert streamer is not None
                assert streamer.poll() is None, log.read_text()
                streamer.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(streamer.wait, WAIT_SECONDS) == 0, log.read_text()
                stored = sum(len(trades_last(symbol=s, count=10_000, client=cluster)) for s in symbols)  # type: ignore[arg-type]
                return await asyncio.wait_for(_trade_events(ws, count=stored), WAIT_SECONDS)
            finally:
                await ws.close()

        events = asyncio.run(scenario())
    finally:
        if streamer is not None and streamer.poll() is None:
            streamer.kill()
            streamer.wait()
        server.should_exit = True
        thread.join(timeout=30)

    # Every trade the simulator wrote reached the client once, in order, per symbol.
    received: dict[str, list[str]] = {symbol: [] for symbol in symbols}
    for symbol, event in events:
        received[symbol].append(event["id"])
    for symbol in symbols:
        stored_ids = [item.id for item in trades_last(symbol=symbol, count=10_000, client=cluster)]  # type: ignore[arg-type]
        assert received[symbol] == stored_ids, symbol
    assert not [item for item, seen in Counter((symbol, event["id"]) for symbol, event in events).items() if seen > 1]

    # The streams live on the masters that own their slots: different symbols, different nodes.
    for symbol, node in owners.items():
        direct = redis.Redis(host=node.host, port=node.port)
        assert direct.exists(keys.trades(symbol), keys.last(symbol)) == 2, symbol
        direct.close()
    # Status, gaps and dead letters stay on REDIS_URL; nothing of market data is written there.
    assert get_redis().hget(keys.streamer("simulator"), "state") == b"stopped"
    assert not get_redis().exists(*(keys.trades(symbol) for symbol in symbols))

    # The flush task lands every trade in the lake, once.
    outcome = flush_streams.apply().get()
    assert {keys.trades(symbol) for symbol in symbols} <= set(outcome["streams"])
    rows = duckdb.sql(
        f"select symbol, count(*) from read_parquet('{settings.LAKE_DIR}/tick_data/**/*.parquet',"
        " hive_partitioning = true) group by 1"
    ).fetchall()
    assert dict(rows) == {symbol: len(received[symbol]) for symbol in symbols}
    assert get_redis().hget(keys.LAKE_FLUSH_HEALTH, "failing") == b"0"

    # No call of the simulator, the relay or the flush spanned slots: no node refused one.
    for node in cluster.get_primaries():
        errors = redis.Redis(host=node.host, port=node.port).info("errorstats")
        assert "errorstat_CROSSSLOT" not in errors, (node.name, errors)
    reset_pools()
