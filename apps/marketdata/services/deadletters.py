"""Malformed or unknown feed messages: parked in a dead-letter stream with the reason, never lost."""

from __future__ import annotations

import redis.asyncio

from apps.core import keys
from apps.core.clock import utc_now

MAX_RAW_BYTES = 64 * 1024
DEAD_LETTER_MAXLEN = 100_000


async def dead_letter_park(
    *,
    client: redis.asyncio.Redis,
    source: str,
    reason: str,
    location: str,
    raw: bytes | str,
    keyspace: keys.KeySpace = keys.LIVE,
) -> str:
    """Append one rejected message to `deadletter:{source}`; returns its stream ID."""
    data = raw.encode() if isinstance(raw, str) else raw
    fields = {
        "reason": reason,
        "location": location,
        "raw": data[:MAX_RAW_BYTES],
        "truncated": int(len(data) > MAX_RAW_BYTES),
        "at": utc_now().isoformat(),
    }
    entry_id = await client.xadd(keyspace.dead_letter(source), fields, maxlen=DEAD_LETTER_MAXLEN, approximate=True)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
