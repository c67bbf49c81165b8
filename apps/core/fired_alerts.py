"""Reads of the alerts fired (the `alerts:fired` stream), until an alerts app owns them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from apps.core import keys
from apps.core.codec import text as _text
from apps.core.redis import get_redis


@dataclass(frozen=True)
class AlertEntry:
    id: str
    fields: dict[str, str]


def alerts_recent(*, count: int = 50, client: redis.Redis | None = None) -> list[AlertEntry]:
    """The last alerts fired, newest first."""
    client = client or get_redis()
    entries: Any = client.xrevrange(keys.ALERTS_FIRED, count=count)
    return [
        AlertEntry(_text(entry_id), {_text(key): _text(value) for key, value in raw.items()})
        for entry_id, raw in entries
    ]
