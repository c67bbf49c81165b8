"""What the hot store's hot paths need to run on a Redis Cluster as well as on one Redis.

A cluster runs a command only when all its keys hash to one slot (CROSSSLOT otherwise, even on
one node). Every key of one symbol carries the hash tag `{SYM}` (apps/core/keys.py), so one
symbol's script call or read is one slot; what spans symbols is split here, by slot.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from redis.crc import key_slot


def evalsha_queue(pipe: Any, sha: str, numkeys: int, *keys_and_args: Any) -> None:
    """Queue one EVALSHA on `pipe`, a pipeline of one Redis or of a cluster.

    On one Redis this is what `Pipeline.evalsha` sends. redis-py's cluster pipeline blocks its
    `evalsha` method (redis/redis-py#2914, lifted upstream by #4206) though it routes the command
    by its keys like any other: queued this way, the calls are grouped by node and each node's
    share goes out as one pipeline, all nodes at once. The caller loads the script on every
    primary first (SCRIPT LOAD goes to all of them) and handles NOSCRIPT replies.
    """
    pipe.execute_command("EVALSHA", sha, numkeys, *keys_and_args)


def by_slot(positions: dict[str, str]) -> dict[int, dict[str, str]]:
    """`positions` (key -> position) split into one part per cluster slot, in the given order."""
    parts: dict[int, dict[str, str]] = defaultdict(dict)
    for key, position in positions.items():
        parts[key_slot(key.encode())][key] = position
    return dict(parts)
