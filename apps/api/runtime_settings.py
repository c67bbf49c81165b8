"""Runtime settings of the REST API (edited in the admin, applied without a restart)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

RATE_LIMIT_PER_MINUTE = register(
    RuntimeSettingSpec(
        key="api.rate_limit_per_minute",
        type=Annotated[int, Field(ge=0, le=1_000_000)],
        default=600,
        help="Requests per minute for each API token (and each signed-in browser user); 0 switches the limit off.",
    )
)
