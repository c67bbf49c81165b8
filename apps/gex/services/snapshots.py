"""Recording GEX snapshots: the latest per ticker and category in Redis, every new one appended
to the ticker's GEX stream (the flush lands it in the lake as `gex_snapshots`) and announced on
`gex:snapshot:stream`.

A snapshot is recorded once: the same (package, category, timestamp) for a ticker is skipped,
whether it comes from polling (GEXBot repeats a snapshot until its data changes) or from a
history import run twice. One Lua call per snapshot keeps the check, the stream and the latest
value consistent.

A snapshot without strike rows is streamed (it is what the vendor sent) but never replaces a
latest one that has rows: the dashboard and Sierra Chart would lose every level for an answer
that carries none. A latest value written before the row count was kept counts as having rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis
import structlog

from apps.core import keys
from apps.core.codec import dumps
from apps.core.redis import get_redis
from apps.gex.snapshots import GEXSnapshot, snapshot_encode

log = structlog.get_logger(__name__)

# How long a recorded timestamp is remembered for deduplication: GEXBot's history reaches back
# 90 days, so an import of its oldest day is still recognised.
DEDUPE_DAYS = 100
# Entries kept per ticker stream whatever the retention window says: a cap on memory (snapshots
# with full strike rows are kilobytes each), far more than arrive between two flushes.
STREAM_MAX_ENTRIES = 2_000

# KEYS: recorded zset, stream, latest key
# ARGV: member, timestamp (s), dedupe cutoff (s), snapshot JSON, set latest (0/1), stream max length,
#       strike rows in the snapshot
_RECORD = """
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then return false end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local ts_ms = tonumber(ARGV[2]) * 1000
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local ms, seq = -1, -1
if #last > 0 then
  local id = last[1][1]
  local dash = string.find(id, '-', 1, true)
  ms = tonumber(string.sub(id, 1, dash - 1)); seq = tonumber(string.sub(id, dash + 1))
end
if ts_ms > ms then ms = ts_ms; seq = 0 else seq = seq + 1 end
local id = ms .. '-' .. seq
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], id, 'd', ARGV[4])
if ARGV[5] == '1' then
  local current = tonumber(redis.call('HGET', KEYS[3], 'ts') or '-1')
  local held = tonumber(redis.call('HGET', KEYS[3], 'n') or (current >= 0 and '1' or '0'))
  if tonumber(ARGV[2]) > current and (tonumber(ARGV[7]) > 0 or held == 0) then
    redis.call('HSET', KEYS[3], 'ts', ARGV[2], 'd', ARGV[4], 'id', id, 'n', ARGV[7])
  end
end
return id
"""


@dataclass(frozen=True)
class Recorded:
    stream_id: str
    snapshot: GEXSnapshot


def _member(snapshot: GEXSnapshot) -> str:
    return f"{snapshot.package}:{snapshot.category}:{snapshot.timestamp}"


def _record(client: redis.Redis, snapshot: GEXSnapshot, *, latest: bool) -> str | None:
    cutoff = snapshot.timestamp - DEDUPE_DAYS * 86_400
    result = client.eval(
        _RECORD,
        3,
        keys.gex_recorded(snapshot.ticker),
        keys.gex_snapshots(snapshot.ticker),
        keys.gex_snapshot(snapshot.ticker, snapshot.category),
        _member(snapshot),
        snapshot.timestamp,
        cutoff,
        snapshot_encode(snapshot),
        "1" if latest else "0",
        STREAM_MAX_ENTRIES,
        len(snapshot.strikes),
    )
    if result is None:
        return None
    return result.decode() if isinstance(result, bytes) else str(result)


def snapshot_record(*, snapshot: GEXSnapshot, client: redis.Redis | None = None) -> Recorded | None:
    """Record a live snapshot: stream, latest value and an announcement. None when this ticker,
    package, category and timestamp were already recorded."""
    client = client or get_redis()
    stream_id = _record(client, snapshot, latest=True)
    if stream_id is None:
        return None
    client.publish(
        keys.GEX_SNAPSHOT_CHANNEL,
        dumps(
            {
                "ticker": snapshot.ticker,
                "package": snapshot.package,
                "category": snapshot.category,
                "timestamp": snapshot.timestamp,
                "stream_id": stream_id,
                "source": snapshot.source,
            }
        ),
    )
    return Recorded(stream_id, snapshot)


def snapshots_record_many(*, snapshots: Iterable[GEXSnapshot], client: redis.Redis | None = None) -> int:
    """Append history snapshots to the GEX stream (the flush lands them in the lake); skips any
    (ticker, package, category, timestamp) already recorded; returns how many were new. The
    latest values are left alone: history is never newer than what polling shows."""
    client = client or get_redis()
    new = 0
    for snapshot in snapshots:
        if _record(client, snapshot, latest=False) is not None:
            new += 1
    return new
