"""Runtime settings of the batch runner (edited in the admin, applied without a restart)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

MAX_PARALLEL_UNITS = register(
    RuntimeSettingSpec(
        key="batch.max_parallel_units",
        type=Annotated[int, Field(ge=1, le=64)],
        default=2,
        help="Units of one batch job queued at once on the batch queue (each unit is one day of one file).",
    )
)
