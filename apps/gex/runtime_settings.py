"""Runtime settings of GEX polling (edited in the admin, applied without a restart)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from apps.core.runtime_settings import RuntimeSettingSpec, register

Ticker = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")]


class SessionIntervals(BaseModel, frozen=True):
    """Seconds between polls of one ticker and category in each session; 0 switches polling off."""

    regular: Annotated[float, Field(ge=0, le=3600)] = 5.0
    extended: Annotated[float, Field(ge=0, le=3600)] = 60.0
    closed: Annotated[float, Field(ge=0, le=86400)] = 0.0


TICKERS = register(
    RuntimeSettingSpec(
        key="gex.tickers",
        type=list[Ticker],
        default=["ES_SPX", "NQ_NDX", "SPX"],
        help="Tickers polled for GEX (GEXBot names). Those the source does not list under /tickers are skipped.",
    )
)
EXCLUDED_TICKERS = register(
    RuntimeSettingSpec(
        key="gex.excluded_tickers",
        type=list[Ticker],
        default=[],
        help="Tickers never polled, even when listed in gex.tickers or added by the /tickers refresh.",
    )
)
CATEGORIES = register(
    RuntimeSettingSpec(
        key="gex.categories",
        type=list[Literal["gex_zero", "gex_one", "gex_full"]],
        default=["gex_zero", "gex_full"],
        help="Categories polled per ticker: gex_zero (nearest expiry), gex_one (next), gex_full (all, up to 90 days).",
    )
)
PACKAGE = register(
    RuntimeSettingSpec(
        key="gex.package",
        type=Literal["classic", "state"],
        default="classic",
        help="GEXBot package polled (your subscription must include it).",
    )
)
NQ_TICKERS = register(
    RuntimeSettingSpec(
        key="gex.nq_tickers",
        type=list[Ticker],
        default=["NQ_NDX", "NDX"],
        help="Tickers polled on the NQ poller's own schedule (gex.nq_intervals) instead of gex.intervals.",
    )
)
INTERVALS = register(
    RuntimeSettingSpec(
        key="gex.intervals",
        type=SessionIntervals,
        default=SessionIntervals(),
        help="Seconds between polls by session (NYSE calendar): regular hours, extended hours, closed; 0 = off.",
    )
)
NQ_INTERVALS = register(
    RuntimeSettingSpec(
        key="gex.nq_intervals",
        type=SessionIntervals,
        default=SessionIntervals(regular=5.0, extended=60.0, closed=0.0),
        help="The NQ poller's intervals by session; 0 = off.",
    )
)
FALLBACK = register(
    RuntimeSettingSpec(
        key="gex.fallback",
        type=Literal["none", "simulated"],
        default="none",
        help="Source used while GEXBot's circuit breaker is open: none (skip and count) or the simulated chain.",
    )
)
SIERRA_FILES = register(
    RuntimeSettingSpec(
        key="gex.sierra_files",
        type=bool,
        default=True,
        help="Write Sierra Chart level and history CSV files for every new snapshot.",
    )
)
SIERRA_HISTORY_LAYOUT = register(
    RuntimeSettingSpec(
        key="gex.sierra_history_layout",
        type=Literal["sierra", "gexbot_terminal"],
        default="sierra",
        help=(
            "Layout of new daily history files: sierra (Date,Time in New York time and only the columns "
            "the category fills, for Sierra Chart's Text/CSV files and spreadsheets) or gexbot_terminal "
            "(the 15 columns and Unix seconds the GEXBot terminal studies read). A file keeps its layout."
        ),
    )
)
