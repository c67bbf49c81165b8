"""The flush: hot streams into the Parquet lake with an exactly-once effect.

Every registered lake table (apps/storage/registry.py) names the hot streams that feed it. Per
stream, through the exactly-once reader (apps/storage/consumer.py) as the consumer `flusher` of
group `lake`, under the stream's lock:

1. read a batch: the group's pending entries first (a batch an earlier run read but did not
   acknowledge), else new ones;
2. write it to Parquet under its deterministic name: temporary file, fsync, rename;
3. XACK it, then record the checkpoint (last id, rows, time).

A crash between any two steps leaves the batch pending, and the next run writes the same rows
to the same file names: nothing lost, nothing twice. Streamers trim a stream only below what
the group has acknowledged (apps/marketdata/services/trim.py).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis
import structlog

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text as _text
from apps.storage.consumer import ExactlyOnceReader, StreamBusyError
from apps.storage.lake import file_name, partition_file, publish, remove_stale_temps, write_temp
from apps.storage.registry import lake_table_of_stream, lake_tables
from apps.storage.tables import tables_by_day

log = structlog.get_logger(__name__)

CONSUMER = "flusher"
BATCH_ENTRIES = 2000


@dataclass
class FlushResult:
    key: str
    rows: int = 0
    entries: int = 0
    files: list[str] = field(default_factory=list)
    last_id: str | None = None
    skipped: str | None = None
    # Why the stream could not be flushed (the lake or Redis refused); its batch stays pending.
    error: str | None = None


class LakeFlushError(Exception):
    """A flush run could not write some streams to the lake; the message names them and why."""


def _failpoint(step: str, failpoint: str) -> None:
    """Testing only (FLUSH_FAILPOINT): die here as a killed worker would, with no clean-up."""
    if failpoint == step:
        log.warning("flush.failpoint", step=step)
        os.kill(os.getpid(), signal.SIGKILL)


def stream_flush(
    *, client: redis.Redis, key: str, lake: Path, batch_entries: int = BATCH_ENTRIES, failpoint: str = ""
) -> FlushResult:
    """Flush one hot stream (one that a registered lake table names) to the lake."""
    table, symbol = lake_table_of_stream(key)
    result = FlushResult(key=key)
    reader = ExactlyOnceReader(
        client=client, key=key, group=keys.LAKE_GROUP, consumer=CONSUMER, lock=keys.lake_lock(key)
    )
    try:
        with reader:
            while batch := reader.read(count=batch_entries):
                # An entry trimmed away while pending comes back without fields: nothing to write.
                data = [(entry_id, fields[b"d"]) for entry_id, fields in batch.entries if fields]
                name = file_name(batch.first_id, batch.last_id)
                for day, rows in sorted(tables_by_day(table, symbol, data).items()):
                    final = partition_file(lake=lake, table=table.name, day=day, symbol=symbol, name=name)
                    remove_stale_temps(final.parent)
                    temp = write_temp(rows, final)
                    _failpoint("after_write", failpoint)
                    publish(temp, final)
                    _failpoint("after_rename", failpoint)
                    result.rows += rows.num_rows
                    result.files.append(str(final.relative_to(lake)))
                reader.ack(batch)
                _failpoint("after_ack", failpoint)
                result.entries += len(batch.entries)
                result.last_id = batch.last_id
                client.hset(
                    keys.lake_checkpoint(key),
                    mapping={
                        "last_id": batch.last_id,
                        "rows": result.rows,
                        "at": utc_now().isoformat(),
                        "table": table.name,
                    },
                )
    except StreamBusyError:
        result.skipped = "another flush of this stream is running"
    if result.rows:
        log.info("flush.done", key=key, rows=result.rows, entries=result.entries, files=len(result.files))
    return result


def hot_streams(client: redis.Redis, *, retention: str | None = None) -> list[str]:
    """Every hot stream of a registered lake table that exists now (of one retention category
    when `retention` is given)."""
    found: set[str] = set()
    for table in lake_tables():
        if retention is None or table.retention == retention:
            found.update(_text(key) for key in client.scan_iter(match=table.stream_glob, count=1000, _type="stream"))
    return sorted(found)


def streams_flush(
    *,
    client: redis.Redis,
    lake: Path,
    failpoint: str = "",
    progress: Callable[[int, int], None] | None = None,
    outcome_client: redis.Redis | None = None,
    also: Sequence[redis.Redis] = (),
) -> list[FlushResult]:
    """Flush every hot stream of `client` (the hot store) and of the stores in `also`; one
    stream's failure does not stop the others. `progress(done, total)` is called after each
    stream. The run's outcome goes to `outcome_client` (default `client`), where /health and
    /metrics read it."""
    results = []
    streams = [(store, key) for store in (client, *also) for key in hot_streams(store)]
    for done, (store, key) in enumerate(streams, start=1):
        try:
            results.append(stream_flush(client=store, key=key, lake=lake, failpoint=failpoint))
        except (redis.RedisError, OSError, ValueError) as error:
            log.error("flush.failed", key=key, error=f"{type(error).__name__}: {error}")
            results.append(FlushResult(key=key, error=f"{type(error).__name__}: {error}"))
        if progress:
            progress(done, len(streams))
    flush_outcome_record(client=outcome_client or client, results=results)
    return results


def flush_failure(results: Sequence[FlushResult]) -> LakeFlushError | None:
    """The error of a run in which some stream could not be flushed, naming the first of them."""
    failed = [result for result in results if result.error]
    if not failed:
        return None
    more = f" (and {len(failed) - 1} more streams)" if len(failed) > 1 else ""
    return LakeFlushError(f"flush of {failed[0].key} failed: {failed[0].error}{more}")


def flush_outcome_record(*, client: redis.Redis, results: Sequence[FlushResult]) -> None:
    """Keep the run's outcome in `lake:flush:health`: failing until a run flushes every stream."""
    failure = flush_failure(results)
    at = utc_now().isoformat()
    try:
        if failure is None:
            client.hset(keys.LAKE_FLUSH_HEALTH, mapping={"failing": 0, "ok_at": at})
            return
        pipe = client.pipeline()
        pipe.hset(keys.LAKE_FLUSH_HEALTH, mapping={"failing": 1, "error": str(failure)[:500], "failed_at": at})
        pipe.hincrby(keys.LAKE_FLUSH_HEALTH, "failures", 1)
        pipe.execute()
    except redis.RedisError as error:
        # The failure itself is logged per stream, and the task fails; the record is the extra.
        log.error("flush.outcome_not_recorded", error=f"{type(error).__name__}: {error}")
