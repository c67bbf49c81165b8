"""Which streamers the platform knows and how each stands: switched on or off (the runtime
setting its process follows) and the status hash a running process keeps."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from apps.core import keys
from apps.core.codec import text as _text
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.marketdata.runtime_settings import DISABLED_STREAMERS
from apps.marketdata.selectors import streamer_status
from apps.marketdata.streamer_names import streamer_names


@dataclass(frozen=True)
class StreamerState:
    name: str
    enabled: bool
    status: dict[str, str]


def disabled_streamers_stored() -> list[str]:
    """The streamers switched off, from the stored row rather than this process's cache: a switch
    made a moment ago (in another process) shows at once."""
    row = RuntimeSetting.objects.filter(key=DISABLED_STREAMERS.key).values_list("value", flat=True).first()
    return list(row if row is not None else runtime_value(DISABLED_STREAMERS.key))


def streamers_status_list(*, client: redis.Redis | None = None) -> list[StreamerState]:
    """Every streamer the platform knows (registered, configured off, or with a status hash),
    with the status hash its process keeps (empty when it never ran)."""
    client = client or get_redis()
    disabled = set(disabled_streamers_stored())
    prefix = keys.STREAMER_STATUS_PATTERN.rstrip("*")
    running = {_text(key)[len(prefix) :] for key in client.scan_iter(match=keys.STREAMER_STATUS_PATTERN, _type="hash")}
    names = sorted(set(streamer_names()) | disabled | running)
    return [
        StreamerState(name, name not in disabled, streamer_status(name=name, client=client) if name in running else {})
        for name in names
    ]


def streamer_known(*, name: str, client: redis.Redis | None = None) -> bool:
    return any(state.name == name for state in streamers_status_list(client=client))
