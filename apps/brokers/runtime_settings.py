"""Runtime settings of the broker feeds (edited in the admin, applied without a restart)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

SCHWAB_SYMBOLS = register(
    RuntimeSettingSpec(
        key="brokers.schwab_symbols",
        type=list[Annotated[str, Field(pattern=r"^/?[A-Za-z][A-Za-z0-9./:_-]{0,20}$")]],
        default=[],
        help=(
            "Symbols the Schwab streamer subscribes to (futures such as ES or ESZ26, equities such as AAPL,"
            " options in OCC form without padding such as AAPL251219C00200000 for their OPTIONS_BOOK depth);"
            " empty means marketdata.symbols. Switch the feed off with marketdata.disabled_streamers."
        ),
    )
)
TASTYTRADE_SYMBOLS = register(
    RuntimeSettingSpec(
        key="brokers.tastytrade_symbols",
        type=list[Annotated[str, Field(pattern=r"^/?[A-Za-z][A-Za-z0-9./:_-]{0,20}$")]],
        default=[],
        help=(
            "Symbols the tastytrade streamer subscribes to (futures such as ES or ESZ26, equities such as SPY);"
            " empty means marketdata.symbols. Switch the feed off with marketdata.disabled_streamers."
        ),
    )
)
