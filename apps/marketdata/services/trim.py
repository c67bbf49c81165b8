"""Trim hot streams to the hot window, never below what a consumer group has not acknowledged."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from apps.core.clock import utc_now
from apps.core.codec import text as _text
from apps.core.positions import StreamPosition


@dataclass(frozen=True)
class TrimResult:
    key: str
    min_id: str
    removed: int
    held_by_group: str | None


def safe_min_id(client: redis.Redis, key: str) -> tuple[str | None, str | None]:
    """The lowest ID some consumer group still needs (its oldest pending entry, or the entry
    after its last delivered one), and that group's name. (None, None) without groups."""
    lowest: tuple[int, int] | None = None
    holder = None
    for group in client.xinfo_groups(key):
        name = _text(group["name"])
        pending = client.xpending(key, name)
        if pending["pending"]:
            needed = StreamPosition.parse(_text(pending["min"])).entry
        else:
            ms, seq = StreamPosition.parse(_text(group["last-delivered-id"])).entry
            needed = (ms, seq + 1)
        if lowest is None or needed < lowest:
            lowest, holder = needed, name
    if lowest is None:
        return None, None
    return f"{lowest[0]}-{lowest[1]}", holder


def stream_trim(*, client: redis.Redis, key: str, window_minutes: int, exact: bool = False) -> TrimResult:
    """Remove entries older than the hot window unless a consumer group still needs them.

    `exact=False` lets Redis drop only whole internal nodes (cheap; never removes an entry at
    or above the computed minimum ID)."""
    window_ms = int(utc_now().timestamp() * 1000) - window_minutes * 60_000
    min_id = (window_ms, 0)
    group_min, holder = safe_min_id(client, key)
    held = None
    if group_min is not None and StreamPosition.parse(group_min).entry < min_id:
        min_id, held = StreamPosition.parse(group_min).entry, holder
    text = f"{min_id[0]}-{min_id[1]}"
    removed = client.xtrim(key, minid=text, approximate=not exact)
    return TrimResult(key=key, min_id=text, removed=int(removed), held_by_group=held)
