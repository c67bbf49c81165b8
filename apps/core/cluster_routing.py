"""What the hot store's hot paths need to run on a Redis Cluster as well as on one Redis.

A cluster runs a command only when all its keys hash to one slot (CROSSSLOT otherwise, even on
one node). Every key of one symbol carries the hash tag `{SYM}` (apps/core/keys.py), so one
symbol's script call or read is one slot; what spans symbols is split here, by slot.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from redis.crc import key_slot


def queue_command(pipe: Any, *command: Any) -> None:
    """Queue `command` (e.g. "EVALSHA", sha, numkeys, *keys_and_args) on `pipe`, a pipeline of
    one Redis or of a cluster.

    On one Redis this is what `Pipeline.evalsha` and `Pipeline.publish` send. redis-py's cluster
    pipeline blocks those two methods (redis/redis-py#2914; EVALSHA is allowed upstream since
    #4206) though it routes the commands by their keys (a channel for PUBLISH, which the cluster
    forwards to every node) like any other: queued this way, the calls are grouped by node and
    each node's share goes out as one pipeline, all nodes at once. For scripts, the caller loads
    them on every primary first (SCRIPT LOAD goes to all of them) and handles NOSCRIPT replies.
    """
    pipe.execute_command(*command)


def by_slot(positions: dict[str, str]) -> dict[int, dict[str, str]]:
    """`positions` (key -> position) split into one part per cluster slot, in the given order."""
    parts: dict[int, dict[str, str]] = defaultdict(dict)
    for key, position in positions.items():
        parts[key_slot(key.encode())][key] = position
    return dict(parts)
