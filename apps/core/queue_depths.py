"""How many tasks wait in each Celery queue, read from the Redis broker's lists."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

import redis
from django.conf import settings

from apps.core.exceptions import UnavailableError
from apps.core.queues import Queue
from apps.core.redis import get_redis

# Kombu's Redis transport: a queue with priorities is one list per priority step.
KOMBU_PRIORITY_STEPS = [0, 3, 6, 9]
KOMBU_PRIORITY_SEP = "\x06\x16"


def queue_depths(*, client: redis.Redis | None = None) -> list[tuple[str, int]]:
    """Messages waiting in each Celery queue on the Redis broker (every priority list summed).
    A broker that is not Redis is an UnavailableError: its queues cannot be read this way."""
    url = settings.CELERY_BROKER_URL
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise UnavailableError(
            f"CELERY_BROKER_URL: queue depths are read from a Redis broker, not {urlsplit(url).scheme}"
        )
    options: dict[str, Any] = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    prefix = options.get("global_keyprefix", "")
    steps: list[int] = list(options.get("priority_steps", KOMBU_PRIORITY_STEPS))
    sep = options.get("sep", KOMBU_PRIORITY_SEP)
    client = client or get_redis(url)
    names = Queue.all_names()
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            for step in steps:
                pipe.llen(f"{prefix}{name}{sep}{step}" if step else f"{prefix}{name}")
        lengths = cast(list[int], pipe.execute())
    per_queue = len(steps)
    return [(name, sum(lengths[i * per_queue : (i + 1) * per_queue])) for i, name in enumerate(names)]
