"""Whether a symbol means anything here: a contract of a futures root the platform knows, or a
symbol some table holds data for (a hot stream or a lake partition). A REST request for anything
else is a 404 that says so, not a 200 with nothing in it."""

from __future__ import annotations

from pathlib import Path

import redis
from django.conf import settings

from apps.core import keys
from apps.core.redis import get_hot_redis
from apps.marketdata.symbols import ROOTS, SymbolError, parse_contract
from apps.storage.registry import SYMBOL_PLACEHOLDER, lake_tables


def _stored_key(pattern: str, symbol: str) -> str:
    return pattern.replace(SYMBOL_PLACEHOLDER, f"{{{symbol}}}")


def symbol_known(
    *,
    symbol: str,
    keyspace: keys.KeySpace = keys.LIVE,
    client: redis.Redis | None = None,
    lake: Path | None = None,
) -> bool:
    """True for a canonical `symbol` that is a contract of a known futures root (ESZ26, NQH27: a
    range without trades is then simply empty), or that any registered table holds data for, in
    Redis or in the lake (an imported contract, an equity a feed streams, a GEX ticker), or, in a
    replay's `keyspace`, that its sandbox holds trades, quotes or depth of."""
    client = client or get_hot_redis()
    if not keyspace.is_live and client.exists(keyspace.trades(symbol), keyspace.quotes(symbol), keyspace.depth(symbol)):
        return True
    try:
        if parse_contract(symbol).root in ROOTS:
            return True
    except SymbolError:
        pass
    tables = lake_tables()
    if client.exists(*(_stored_key(table.stream, symbol) for table in tables)):
        return True
    lake = lake or Path(settings.LAKE_DIR)
    return any(next((lake / table.name).glob(f"date=*/symbol={symbol}"), None) is not None for table in tables)
