"""Which streamers the platform knows and how each stands: switched on or off (the runtime
setting its process follows) and the status hash a running process keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from apps.core import keys
from apps.core.clock import utc_now
from apps.core.codec import text as _text
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.marketdata.runtime_settings import DISABLED_STREAMERS
from apps.marketdata.selectors import streamer_status
from apps.marketdata.streamer_names import streamer_configured, streamer_names

# A running streamer rewrites its status hash every second; one not rewritten for this long
# belongs to a process that is gone (killed, or its machine lost), whatever state it last wrote.
STALE_AFTER = timedelta(seconds=30)
# States in which the rate and the connection time mean something now.
LIVE_STATES = frozenset({"connected", "store_down"})


@dataclass(frozen=True)
class StreamerState:
    name: str
    enabled: bool
    status: dict[str, str]

    @property
    def state(self) -> str:
        """What the process is doing now: its own word while it keeps its hash fresh; `stopped`
        once it stopped; `not_running` when its hash went stale or it never ran; `disabled` when
        it is switched off and not running."""
        written = self.status.get("state")
        if written and written != "stopped" and not _stale(self.status.get("updated_at")):
            return written
        if written == "stopped":
            return "stopped"
        return "not_running" if self.enabled else "disabled"

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


def _stale(updated_at: str | None) -> bool:
    if not updated_at:
        return True
    try:
        return utc_now() - datetime.fromisoformat(updated_at) > STALE_AFTER
    except ValueError:
        return True


def disabled_streamers_stored() -> list[str]:
    """The streamers switched off, from the stored row rather than this process's cache: a switch
    made a moment ago (in another process) shows at once."""
    row = RuntimeSetting.objects.filter(key=DISABLED_STREAMERS.key).values_list("value", flat=True).first()
    return list(row if row is not None else runtime_value(DISABLED_STREAMERS.key))


def _all_states(client: redis.Redis) -> list[StreamerState]:
    disabled = set(disabled_streamers_stored())
    prefix = keys.STREAMER_STATUS_PATTERN.rstrip("*")
    reported = {_text(key)[len(prefix) :] for key in client.scan_iter(match=keys.STREAMER_STATUS_PATTERN, _type="hash")}
    names = sorted(set(streamer_names()) | disabled | reported)
    return [
        StreamerState(name, name not in disabled, streamer_status(name=name, client=client) if name in reported else {})
        for name in names
    ]


def streamers_status_list(*, client: redis.Redis | None = None) -> list[StreamerState]:
    """The streamers this deployment runs (their switch is on), and any other whose process is
    alive now (a replay started by hand), each with the status hash its process keeps (empty
    when it never ran). A feed that is not configured and not running is not listed."""
    client = client or get_redis()
    return [
        state
        for state in _all_states(client)
        if streamer_configured(state.name) or state.state not in ("stopped", "not_running", "disabled")
    ]


def streamer_known(*, name: str, client: redis.Redis | None = None) -> bool:
    """Any streamer the platform can run or has heard from (control requests may name one that
    is not configured: the answer says so, not 404)."""
    return any(state.name == name for state in _all_states(client or get_redis()))
