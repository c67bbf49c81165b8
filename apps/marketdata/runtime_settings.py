"""Runtime settings of market data (edited in the admin, applied without a restart)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

SYMBOLS = register(
    RuntimeSettingSpec(
        key="marketdata.symbols",
        type=list[Annotated[str, Field(pattern=r"^/?[A-Za-z][A-Za-z0-9./:_-]{0,20}$")]],
        default=["ES", "NQ"],
        help="Symbols every streamer subscribes to: continuous roots (ES, NQ) follow the roll; contracts (ESZ25) stay.",
    )
)
DISABLED_STREAMERS = register(
    RuntimeSettingSpec(
        key="marketdata.disabled_streamers",
        type=list[str],
        default=[],
        help="Streamers (simulator, replay, schwab, tastytrade, uw) to keep disconnected while their process runs.",
    )
)
HEARTBEAT_TIMEOUT_SECONDS = register(
    RuntimeSettingSpec(
        key="marketdata.heartbeat_timeout_seconds",
        type=Annotated[float, Field(gt=0, le=600)],
        default=15.0,
        help="A streamer that receives nothing for this long reconnects.",
    )
)
