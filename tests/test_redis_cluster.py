"""The hot store on a real Redis Cluster (three masters on free loopback ports): what already works
and keeps every script and multi-key command in one slot. The hot-store Lua scripts (trades,
GEX snapshots) run per call, and the flush writes every stream to the lake, with streams of
different symbols on different nodes; each call's keys share a slot (the cluster refuses
anything else with CROSSSLOT). What does not work yet (the writer's pipelined scripts, the
relay's multi-stream XREAD, REDIS_CLUSTER_URLS) is in docs/scaling.md."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from redis.cluster import ClusterNode, RedisCluster

from apps.core import keys
from apps.gex.services.snapshots import snapshot_record
from apps.gex.snapshots import GEXSnapshot, StrikeRow
from apps.marketdata.blocks import TradeColumns, encode_trades
from apps.marketdata.events import to_price_int
from apps.marketdata.services.scripts import TRADES
from apps.storage.flush import streams_flush
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
