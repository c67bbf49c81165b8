"""Runtime settings of the UW feed (edited in the admin, applied without a restart)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

# The socket's channels (protocols.md §3.1); a per-ticker channel names an upper-case ticker.
CHANNEL_PATTERN = (
    r"^(option_trades|flow-alerts|news|market_tide"
    r"|option_trades:[A-Z0-9._]{1,16}|(price|gex|gex_strike|gex_strike_expiry):[A-Z0-9._]{1,16})$"
)
Channel = Annotated[str, Field(pattern=CHANNEL_PATTERN)]

CHANNELS = register(
    RuntimeSettingSpec(
        key="uw.channels",
        type=list[Channel],
        default=["option_trades", "flow-alerts", "news", "price:SPY", "gex:SPX"],
        help=(
            "Unusual Whales socket channels joined by run_streamer uw: option_trades (all) or option_trades:<T>, "
            "flow-alerts, news, price:<T>, gex:<T>, gex_strike:<T>. A change joins the new ones at once; a removed "
            "one is left by reconnecting."
        ),
    )
)
MARKET_TIDE_OTM_ONLY = register(
    RuntimeSettingSpec(
        key="uw.market_tide_otm_only",
        type=bool,
        default=False,
        help="Market tide from out-of-the-money contracts only (UW's otm_only), for the beat-scheduled poll.",
    )
)
