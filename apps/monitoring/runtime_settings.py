"""Runtime settings of the health checks (edited in the admin, applied without a restart)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

FEED_STALE_SECONDS = register(
    RuntimeSettingSpec(
        key="monitoring.feed_stale_seconds",
        type=Annotated[float, Field(gt=0, le=3600)],
        default=60.0,
        help="A connected streamer with no message for this long is stale while its market is open.",
    )
)
ALWAYS_OPEN_FEEDS = register(
    RuntimeSettingSpec(
        key="monitoring.always_open_feeds",
        type=list[str],
        default=["simulator"],
        help="Streamers judged as if their market never closed (the demo simulator trades around the clock).",
    )
)
BEAT_STALE_SECONDS = register(
    RuntimeSettingSpec(
        key="monitoring.beat_stale_seconds",
        type=Annotated[float, Field(gt=0, le=3600)],
        default=90.0,
        help="The beat heartbeat (every 15 s) older than this fails the beat check.",
    )
)
LAKE_MIN_FREE_RATIO = register(
    RuntimeSettingSpec(
        key="monitoring.lake_min_free_ratio",
        type=Annotated[float, Field(ge=0, lt=1)],
        default=0.10,
        help="Below this free fraction of its disk the lake check is degraded (and failed under a fifth of it).",
    )
)
