"""Redis actions: pub/sub, and the `alerts:fired` stream `/ws/alerts` relays. Each is made once
per delivery whatever the retries: one Lua call sets the delivery's marker and publishes (or
appends) only when the marker was not set."""

from __future__ import annotations

import redis

from apps.alerts.actions import Outcome
from apps.core import keys

MARKER_SECONDS = 7 * 86_400
FIRED_MAX_ENTRIES = 10_000
_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
if ARGV[2] == 'xadd' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'd', ARGV[3])
else
  redis.call('PUBLISH', KEYS[2], ARGV[3])
end
return 1
"""


def _once(client: redis.Redis, *, delivery_id: int, how: str, target: str, body: bytes) -> Outcome:
    try:
        client.eval(_ONCE, 2, keys.alerts_delivered(delivery_id), target, MARKER_SECONDS, how, body, FIRED_MAX_ENTRIES)
    except redis.RedisError as error:
        return Outcome(ok=False, error=f"Redis: {type(error).__name__}: {error}")
    return Outcome(ok=True)


def publish_once(client: redis.Redis, *, delivery_id: int, channel: str, body: bytes) -> Outcome:
    return _once(client, delivery_id=delivery_id, how="publish", target=channel, body=body)


def fired_append_once(client: redis.Redis, *, delivery_id: int, body: bytes) -> Outcome:
    return _once(client, delivery_id=delivery_id, how="xadd", target=keys.ALERTS_FIRED, body=body)
