"""Whether a symbol is one the platform knows: followed by the streamers, or with data in the hot
store. An answer about a symbol it does not know is a 404, not an empty 200."""

from __future__ import annotations

import redis

from apps.core import keys
from apps.core.redis import get_redis
from apps.marketdata.subscriptions import symbols_configured


def symbol_known(*, symbol: str, client: redis.Redis | None = None) -> bool:
    if any(contract == symbol for _, contract in symbols_configured()):
        return True
    return bool((client or get_redis()).exists(keys.trades(symbol), keys.depth(symbol)))
