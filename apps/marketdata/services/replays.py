"""Replay sandboxes, written: the replay process opens its sandbox and reports its progress;
an operator pauses, resumes or deletes one. The keys are `apps.core.keys.KeySpace.replay(id)`
and the state hash `replay:{id}` (read by `apps.marketdata.replays`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text as _text
from apps.core.exceptions import ApplicationError
from apps.core.redis import get_redis
from apps.marketdata.replays import FINISHED, PAUSED, RUNNING, STOPPED, replay_require

DEFAULT_EXPIRE_SECONDS = 24 * 3600

# KEYS: the state hash. ARGV: creation time, seconds to live (0: kept), then field/value pairs.
_OPEN = """
if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


class ReplayExistsError(ApplicationError):
    """A replay id already in use: a new replay never writes into another's sandbox."""


async def replay_open(
    *,
    client: redis.asyncio.Redis,
    replay_id: str,
    source: str,
    symbols: Sequence[str],
    speed: float,
    total: int | None,
    paused: bool,
    expire_seconds: int | None,
) -> None:
    """Create the sandbox's state hash; ReplayExistsError when `replay_id` is taken."""
    key = keys.replay_state(replay_id)
    now = utc_now().isoformat()
    state = {
        "source": source,
        "symbols": ",".join(symbols),
        "speed": speed,
        "state": PAUSED if paused else RUNNING,
        "paused": int(paused),
        "done": 0,
        "total": "" if total is None else total,
        "clock_ms": "",
        "first_ms": "",
        "eta_seconds": "",
        "created_at": now,
        "updated_at": now,
        "expire_seconds": expire_seconds or 0,
    }
    # One step: the id is claimed (HSETNX of the creation time) and the state written together,
    # so two replays started at once cannot share it and a failed start leaves no half claim.
    fields = [str(item) for pair in state.items() for item in pair]
    claimed = await client.eval(_OPEN, 1, key, now, expire_seconds or 0, *fields)
    if not claimed:
        raise ReplayExistsError(
            f"replay id {replay_id!r} is in use; delete it (manage.py replay delete {replay_id}) or pick another"
        )


async def replay_paused(*, client: redis.asyncio.Redis, replay_id: str) -> bool:
    """Whether an operator asked the replay to pause (`replay_pause_set`)."""
    return _text(await client.hget(keys.replay_state(replay_id), "paused") or b"0") == "1"


async def replay_report(
    *, client: redis.asyncio.Redis, replay_id: str, fields: dict[str, Any], expire_seconds: int | None
) -> None:
    """Record the replay's progress (`state`, `clock_ms`, `done`, `eta_seconds`, ...), and keep
    the state hash alive as long as the data it describes."""
    key = keys.replay_state(replay_id)
    pipe = client.pipeline(transaction=False)
    pipe.hset(key, mapping={**fields, "updated_at": utc_now().isoformat()})  # type: ignore[dict-item,unused-awaitable]
    if expire_seconds:
        pipe.expire(key, expire_seconds)  # type: ignore[unused-awaitable]
    await pipe.execute()


def replay_pause_set(*, replay_id: str, paused: bool, client: redis.Redis | None = None) -> dict[str, Any]:
    """Ask a replay to pause or resume; its process reads the request within a quarter second.
    NotFoundError for an unknown replay; a finished one cannot be resumed (ApplicationError)."""
    client = client or get_redis()
    state = replay_require(replay_id=replay_id, field="replay_id", client=client)
    if state.state in (FINISHED, STOPPED):
        raise ApplicationError(f"replay {replay_id!r} is {state.state}: there is nothing to pause or resume")
    client.hset(keys.replay_state(replay_id), "paused", int(paused))
    return {"replay": replay_id, "paused": paused}


def replay_delete(*, replay_id: str, client: redis.Redis | None = None) -> int:
    """Delete every key of the sandbox (its state hash included); returns how many. NotFoundError
    for an unknown replay. Live keys are never touched: every sandbox key starts with `replay:{id}`."""
    client = client or get_redis()
    replay_require(replay_id=replay_id, field="replay_id", client=client)
    found = [_text(key) for key in client.scan_iter(match=keys.replay_keys_pattern(replay_id), count=1000)]
    return int(client.delete(*found)) if found else 0
