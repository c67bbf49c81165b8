"""The flush: hot streams into the Parquet lake with an exactly-once effect.

Per stream, under a lock so two workers never flush it at once:

1. read a batch with XREADGROUP as the consumer `flusher` of group `lake`: the group's pending
   entries first (a batch an earlier run read but did not acknowledge), else new ones;
2. write it to Parquet under its deterministic name: temporary file, fsync, rename;
3. XACK it, then record the checkpoint (last id, rows, time).

A crash between any two steps leaves the batch pending, and the next run writes the same rows
to the same file names: nothing lost, nothing twice. Streamers trim a stream only below what
the group has acknowledged (apps/marketdata/services/trim.py).
"""

from __future__ import annotations

import os
import signal
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import structlog

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text as _text
from apps.storage.lake import file_name, partition_dir, publish, remove_stale_temps, write_temp
from apps.storage.tables import TABLE_OF_KIND, tables_by_day

log = structlog.get_logger(__name__)

CONSUMER = "flusher"
BATCH_ENTRIES = 2000
LOCK_SECONDS = 600
STREAM_PATTERNS = {
    "trades": "md:trades:*",
    "quotes": "md:quotes:*",
    "depth": "md:depth:*",
    "snapshots": "gex:snapshots:*",
}


@dataclass
class FlushResult:
    key: str
    rows: int = 0
    entries: int = 0
    files: list[str] = field(default_factory=list)
    last_id: str | None = None
    skipped: str | None = None


def _failpoint(step: str, failpoint: str) -> None:
    """Testing only (FLUSH_FAILPOINT): die here as a killed worker would, with no clean-up."""
    if failpoint == step:
        log.warning("flush.failpoint", step=step)
        os.kill(os.getpid(), signal.SIGKILL)


def _ensure_group(client: redis.Redis, key: str) -> None:
    try:
        client.xgroup_create(key, keys.LAKE_GROUP, id="0")
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def _read_batch(client: redis.Redis, key: str, count: int) -> list[tuple[str, dict[Any, Any] | None]]:
    # Pending first, all of it: exactly the batch an interrupted run had read.
    for cursor, limit in (("0", None), (">", count)):
        reply: Any = client.xreadgroup(keys.LAKE_GROUP, CONSUMER, {key: cursor}, count=limit)
        entries = reply[0][1] if reply else []
        if entries:
            return [(_text(entry_id), fields) for entry_id, fields in entries]
    return []


_DELETE_IF_HOLDER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _acquire(client: redis.Redis, key: str) -> Any | None:
    """The stream's flush lock, or None while another live flush holds it.

    A flush killed on this machine leaves its lock behind for LOCK_SECONDS; its token names the
    host and process, so a later flush here sees the holder is gone and takes the lock over at
    once instead of waiting (holders on other machines are left to expire)."""
    name = keys.lake_lock(key)
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    lock = client.lock(name, timeout=LOCK_SECONDS, blocking=False)
    if lock.acquire(token=token):
        return lock
    holder = client.get(name)
    if holder:
        host, _, rest = _text(holder).partition(":")
        pid = rest.partition(":")[0]
        if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
            client.eval(_DELETE_IF_HOLDER, 1, name, holder)
            log.warning("flush.stale_lock_taken_over", key=key, holder=_text(holder))
            if lock.acquire(token=token):
                return lock
    return None


def _kind_and_symbol(key: str) -> tuple[str, str]:
    # md:{kind}:{SYM} or gex:snapshots:{TICKER}
    _, kind, tagged = key.split(":", 2)
    return kind, tagged.strip("{}")


def stream_flush(
    *, client: redis.Redis, key: str, lake: Path, batch_entries: int = BATCH_ENTRIES, failpoint: str = ""
) -> FlushResult:
    """Flush one hot stream (`md:trades:{SYM}`, `md:quotes:{SYM}` or `md:depth:{SYM}`) to the lake."""
    kind, symbol = _kind_and_symbol(key)
    table = TABLE_OF_KIND[kind]
    result = FlushResult(key=key)
    lock = _acquire(client, key)
    if lock is None:
        result.skipped = "another flush of this stream is running"
        return result
    try:
        _ensure_group(client, key)
        while True:
            batch = _read_batch(client, key, batch_entries)
            if not batch:
                break
            ids = [entry_id for entry_id, _ in batch]
            # An entry trimmed away while pending comes back without fields: nothing to write.
            data = [(entry_id, fields[b"d"]) for entry_id, fields in batch if fields]
            name = file_name(ids[0], ids[-1])
            for day, rows in sorted(tables_by_day(kind, symbol, data).items()):
                directory = partition_dir(lake=lake, table=table, day=day, symbol=symbol)
                remove_stale_temps(directory)
                final = directory / name
                temp = write_temp(rows, final)
                _failpoint("after_write", failpoint)
                publish(temp, final)
                _failpoint("after_rename", failpoint)
                result.rows += rows.num_rows
                result.files.append(str(final.relative_to(lake)))
            client.xack(key, keys.LAKE_GROUP, *ids)
            _failpoint("after_ack", failpoint)
            result.entries += len(ids)
            result.last_id = ids[-1]
            client.hset(
                keys.lake_checkpoint(key),
                mapping={"last_id": ids[-1], "rows": result.rows, "at": utc_now().isoformat(), "table": table},
            )
            lock.reacquire()
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("flush.lock_expired", key=key)
    if result.rows:
        log.info("flush.done", key=key, rows=result.rows, entries=result.entries, files=len(result.files))
    return result


def hot_streams(client: redis.Redis) -> list[str]:
    """Every hot market-data stream that exists now."""
    found: set[str] = set()
    for pattern in STREAM_PATTERNS.values():
        found.update(_text(key) for key in client.scan_iter(match=pattern, count=1000, _type="stream"))
    return sorted(found)


def streams_flush(
    *, client: redis.Redis, lake: Path, failpoint: str = "", progress: Callable[[int, int], None] | None = None
) -> list[FlushResult]:
    """Flush every hot stream; one stream's failure does not stop the others. `progress(done,
    total)` is called after each stream."""
    results = []
    streams = hot_streams(client)
    for done, key in enumerate(streams, start=1):
        try:
            results.append(stream_flush(client=client, key=key, lake=lake, failpoint=failpoint))
        except (redis.RedisError, OSError, ValueError) as error:
            log.error("flush.failed", key=key, error=f"{type(error).__name__}: {error}")
            results.append(FlushResult(key=key, skipped=f"failed: {error}"))
        if progress:
            progress(done, len(streams))
    return results
