"""Which GEX tickers and categories a trader is offered (the dashboard's pickers), and which GEX
ticker's levels belong on a futures chart.

Offered are the tickers polled in this configuration that its source serves: `gex.tickers` less
`gex.excluded_tickers`, and of those, with GEXBot on, the ones its `/tickers` listed (when known),
without it, those the simulated source computes. A ticker nothing ever fills (SPX in the demo) is
not offered, nor a category that is not polled (`gex.categories`).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from django.conf import settings

from apps.core import keys
from apps.core.codec import text
from apps.core.redis import get_redis
from apps.core.runtime_config import runtime_value
from apps.gex.local_source import DEFAULT_SIMULATED_TICKERS

# GEXBot's tickers of cash indexes: their levels are in index points, and a futures chart shows
# them moved by the basis. `ES_SPX` and `NQ_NDX` are GEXBot's futures tickers.
INDEX_TICKERS = frozenset({"SPX", "SPXW", "NDX", "NDXP", "RUT", "RUTW", "VIX", "VIXW"})
# For each futures root, the GEX tickers whose levels go on its chart, by preference.
FUTURES_GEX_TICKERS: dict[str, tuple[str, ...]] = {
    "ES": ("ES_SPX", "SPX", "SPXW"),
    "MES": ("ES_SPX", "SPX", "SPXW"),
    "NQ": ("NQ_NDX", "NDX", "NDXP"),
    "MNQ": ("NQ_NDX", "NDX", "NDXP"),
    "RTY": ("RUT", "RUTW"),
    "M2K": ("RUT", "RUTW"),
}


@dataclass(frozen=True)
class FuturesGEX:
    ticker: str
    index: bool  # levels in index points: the chart adds the basis


def _served(client: redis.Redis) -> set[str] | None:
    simulated = set(DEFAULT_SIMULATED_TICKERS)
    if not settings.GEXBOT_ENABLED:
        return simulated
    listed = client.smembers(keys.gex_available_tickers("gexbot"))
    if not listed:
        return None  # not asked yet: every configured ticker may be filled
    served = {text(item) for item in listed}
    return served | simulated if runtime_value("gex.fallback") == "simulated" else served


def offered_tickers(*, client: redis.Redis | None = None) -> list[str]:
    """The GEX tickers that receive data in this configuration: futures tickers (ES_SPX) first,
    then indexes, then the rest, each group in the configured order."""
    excluded = set(runtime_value("gex.excluded_tickers"))
    try:
        served = _served(client or get_redis())
    except redis.RedisError:
        served = None
    configured = [ticker for ticker in runtime_value("gex.tickers") if ticker not in excluded]
    offered = [ticker for ticker in configured if served is None or ticker in served]
    return sorted(dict.fromkeys(offered), key=lambda ticker: ("_" not in ticker, ticker not in INDEX_TICKERS))


def offered_categories() -> list[str]:
    return list(runtime_value("gex.categories"))


def futures_gex(*, offered: list[str]) -> dict[str, FuturesGEX]:
    """For each futures root, the offered GEX ticker whose levels its chart shows."""
    chosen: dict[str, FuturesGEX] = {}
    for root, candidates in FUTURES_GEX_TICKERS.items():
        ticker = next((candidate for candidate in candidates if candidate in offered), None)
        if ticker is not None:
            chosen[root] = FuturesGEX(ticker=ticker, index=ticker in INDEX_TICKERS)
    return chosen
