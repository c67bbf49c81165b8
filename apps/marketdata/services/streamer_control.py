"""Control of running streamers: switch one on or off (the runtime setting its process follows,
no restart) and ask one to subscribe again. A name must be valid and one the platform knows."""

from __future__ import annotations

from typing import Any

import redis
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.exceptions import BadInputError, NotFoundError
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.core.services import runtime_setting_update
from apps.marketdata.runtime_settings import DISABLED_STREAMERS
from apps.marketdata.streamer_status import streamer_known

CONTROL_STREAM_LENGTH = 100


def streamer_check(*, name: str, client: redis.Redis | None = None) -> str:
    """`name` when it is a streamer the platform knows; BadInputError for a name no streamer can
    have, NotFoundError for one it does not know."""
    try:
        keys.streamer(name)
    except ValueError as error:
        raise BadInputError("name", str(error)) from None
    if not streamer_known(name=name, client=client):
        raise NotFoundError(f"unknown streamer {name!r}")
    return name


def streamer_enable(
    *, name: str, enabled: bool, actor: AbstractBaseUser | None = None, client: redis.Redis | None = None
) -> dict[str, Any]:
    """Switch a known streamer on or off through the runtime setting its process follows."""
    streamer_check(name=name, client=client)
    with transaction.atomic():
        # Read the stored row under a lock, not this process's cache: two concurrent changes
        # must not undo each other.
        row = RuntimeSetting.objects.select_for_update().filter(key=DISABLED_STREAMERS.key).first()
        current = list(row.value) if row is not None and row.value is not None else list(DISABLED_STREAMERS.default)
        disabled = [item for item in current if item != name] if enabled else sorted({*current, name})
        if disabled != current:
            runtime_setting_update(key=DISABLED_STREAMERS.key, value=disabled, actor=actor)
    return {"streamer": name, "enabled": enabled, "disabled_streamers": disabled}


def streamer_resubscribe_request(*, name: str, requested_by: str, client: redis.Redis | None = None) -> dict[str, Any]:
    """Ask a known, running streamer to subscribe to all its symbols again; it reads the request
    from its control stream at its next housekeeping tick (about a second)."""
    client = client or get_redis()
    streamer_check(name=name, client=client)
    entry_id = client.xadd(
        keys.streamer_control(name),
        {"action": "resubscribe", "requested_by": requested_by, "at": utc_now().isoformat()},
        maxlen=CONTROL_STREAM_LENGTH,
        approximate=True,
    )
    request_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return {"streamer": name, "request_id": request_id}
