"""Per-caller rate limit for the REST API: a fixed one-minute window counted in Redis, shared by
every web process. The limit is the runtime setting `api.rate_limit_per_minute`."""

from __future__ import annotations

import contextvars
import math

import redis
import structlog
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from apps.api.auth import Caller
from apps.core import keys
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value

log = structlog.get_logger(__name__)
WINDOW_MS = 60_000

# Count the request and start the window on the first one, atomically: returns the count so far
# and the milliseconds left in the window.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

# ninja asks for the wait after allow_request() on the same (shared) throttle object.
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar("api_retry_after", default=None)


def rate_limit_hit(*, subject: str, limit: int, client: redis.Redis | None = None) -> tuple[bool, float]:
    """Count one request of `subject`; returns (allowed, seconds until the window resets)."""
    client = client or get_redis()
    count, ttl_ms = client.eval(_HIT, 1, keys.api_rate_limit(subject), WINDOW_MS)
    return int(count) <= limit, max(int(ttl_ms), 0) / 1000


class RedisRateLimit(BaseThrottle):
    def allow_request(self, request: HttpRequest) -> bool:
        _retry_after.set(None)
        caller = getattr(request, "auth", None)
        limit = int(runtime_value("api.rate_limit_per_minute"))
        if not isinstance(caller, Caller) or limit == 0:
            return True
        try:
            allowed, reset_in = rate_limit_hit(subject=caller.rate_subject, limit=limit)
        except redis.RedisError as error:
            # Without Redis the data endpoints fail anyway; the limiter must not hide why.
            log.warning("api.rate_limit_unavailable", error=str(error))
            return True
        if not allowed:
            _retry_after.set(max(1.0, math.ceil(reset_in)))
        return allowed

    def wait(self) -> float | None:
        return _retry_after.get()
