"""Replay sandboxes, read: which replays exist, how each stands, and the store a reader asks for.

A replay writes under its own id (`apps.core.keys.KeySpace.replay(id)`), never into the live
keys; its state hash `replay:{id}` says where it came from and how far it got. Doors turn a
client's `replay=<id>` into a `KeySpace` with `keyspace_for`, and pass it to the selectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from apps.core import keys
from apps.core.codec import text as _text
from apps.core.exceptions import BadInputError, NotFoundError
from apps.core.redis import get_redis

# The states a replay's process records.
RUNNING, PAUSED, FINISHED, STOPPED = "running", "paused", "finished", "stopped"


@dataclass(frozen=True)
class ReplayState:
    """One sandbox as its state hash holds it. `clock_ms` is the exchange time of the last event
    replayed (None before the first); `total` is None when the source does not say."""

    replay_id: str
    source: str
    symbols: list[str]
    speed: float
    state: str
    paused: bool
    clock_ms: int | None
    first_ms: int | None
    done: int
    total: int | None
    eta_seconds: float | None
    created_at: str
    updated_at: str
    # Seconds the sandbox lives after its last write; None: kept until deleted.
    expire_seconds: int | None
    # Seconds left before Redis deletes the sandbox (None: it never will).
    ttl_seconds: int | None

    @property
    def keyspace(self) -> keys.KeySpace:
        return keys.KeySpace.replay(self.replay_id)

    @property
    def clock(self) -> datetime | None:
        return None if self.clock_ms is None else datetime.fromtimestamp(self.clock_ms / 1000, tz=UTC)


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def _float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def replay_get(*, replay_id: str, client: redis.Redis | None = None) -> ReplayState | None:
    """The sandbox `replay_id` (a valid id: `keys.replay_id_check`), or None when there is none."""
    client = client or get_redis()
    key = keys.replay_state(replay_id)
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(key)
    pipe.ttl(key)
    raw, ttl = pipe.execute()
    if not raw:
        return None
    values = {_text(name): _text(value) for name, value in raw.items()}
    return ReplayState(
        replay_id=replay_id,
        source=values.get("source", ""),
        symbols=[symbol for symbol in values.get("symbols", "").split(",") if symbol],
        speed=_float(values.get("speed")) or 0.0,
        state=values.get("state", ""),
        paused=values.get("paused") == "1",
        clock_ms=_int(values.get("clock_ms")),
        first_ms=_int(values.get("first_ms")),
        done=_int(values.get("done")) or 0,
        total=_int(values.get("total")),
        eta_seconds=_float(values.get("eta_seconds")),
        created_at=values.get("created_at", ""),
        updated_at=values.get("updated_at", ""),
        expire_seconds=_int(values.get("expire_seconds")) or None,
        ttl_seconds=int(ttl) if int(ttl) >= 0 else None,
    )


def replays_list(*, client: redis.Redis | None = None) -> list[ReplayState]:
    """Every sandbox in the store, oldest first."""
    client = client or get_redis()
    prefix = len(keys.REPLAY_PREFIX) + 1
    ids = sorted(
        _text(key)[prefix:-1] for key in client.scan_iter(match=keys.REPLAY_STATE_PATTERN, count=1000, _type="hash")
    )
    found = [replay_get(replay_id=replay_id, client=client) for replay_id in ids]
    return sorted((state for state in found if state is not None), key=lambda state: state.created_at)


def replay_require(*, replay_id: str, field: str = "replay", client: redis.Redis | None = None) -> ReplayState:
    """The sandbox `replay_id`: BadInputError naming `field` for an id no replay can have,
    NotFoundError (naming the replays there are) for one that does not exist (or expired)."""
    try:
        keys.replay_id_check(replay_id)
    except keys.ReplayIdError as error:
        raise BadInputError(field, str(error)) from None
    state = replay_get(replay_id=replay_id, client=client)
    if state is None:
        known = ", ".join(item.replay_id for item in replays_list(client=client)[-10:]) or "none"
        raise NotFoundError(
            f"no replay {replay_id!r}: it never ran here, or it expired or was deleted (replays: {known})"
        )
    return state


def keyspace_for(*, replay_id: str | None, field: str = "replay", client: redis.Redis | None = None) -> keys.KeySpace:
    """The store a reader asked for: live without a replay id, else that replay's sandbox
    (BadInputError / NotFoundError as `replay_require`)."""
    if replay_id is None:
        return keys.LIVE
    return replay_require(replay_id=replay_id, field=field, client=client).keyspace
